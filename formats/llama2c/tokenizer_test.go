package llama2c

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// tokBin encodes a tokenizer.bin: max token length, then per token a
// float32 score, an int32 length and the bytes.
func tokBin(maxLen int32, pieces []string, scores []float32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(maxLen))
	for i, p := range pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scores[i]))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func TestTok512BinEqualsStories260KGGUFVocabulary(t *testing.T) {
	v, err := ReadVocab(testassets.Path(t, "models/tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	f := openGGUF(t, "gguf/stories260K-f32.gguf")
	tokens, ok1 := f.Metadata.Strings("tokenizer.ggml.tokens")
	scores, ok2 := f.Metadata.Float32s("tokenizer.ggml.scores")
	types, ok3 := f.Metadata.Int32s("tokenizer.ggml.token_type")
	if !ok1 || !ok2 || !ok3 || len(tokens) != 512 || len(scores) != 512 || len(types) != 512 {
		t.Fatalf("GGUF vocabulary arrays missing or not of 512 entries")
	}
	if len(v.Tokens) != 512 || len(v.Scores) != 512 || len(v.Types) != 512 {
		t.Fatalf("parsed %d tokens, %d scores, %d types", len(v.Tokens), len(v.Scores), len(v.Types))
	}
	bad := 0
	for i := range tokens {
		if v.Tokens[i] != tokens[i] || v.Scores[i] != scores[i] || v.Types[i] != types[i] {
			if bad++; bad <= 5 {
				t.Errorf("token %d: %q %v type %d, GGUF %q %v type %d", i, v.Tokens[i], v.Scores[i], v.Types[i], tokens[i], scores[i], types[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of 512 tokens differ", bad)
	}
	if v.Types[0] != TypeUnknown || v.Types[1] != TypeControl || v.Tokens[2] != "</s>" || v.Types[3] != TypeByte {
		t.Errorf("special tokens: %q/%d %q/%d %q/%d", v.Tokens[0], v.Types[0], v.Tokens[1], v.Types[1], v.Tokens[3], v.Types[3])
	}
}

func TestParseVocabUndoesLlama2cExportConventions(t *testing.T) {
	pieces := []string{"<unk>", "\n<s>\n", "\n</s>\n", "<0x0A>", " hello", "a b", "<0x0A", "<s>x"}
	scores := []float32{0, 0, 0, 0, -1.5, -2, -3, -4}
	v, err := ParseVocab(tokBin(6, pieces, scores), len(pieces))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		tok string
		typ int32
	}{
		{"<unk>", TypeUnknown}, {"<s>", TypeControl}, {"</s>", TypeControl}, {"<0x0A>", TypeByte},
		{"\u2581hello", TypeNormal}, {"a\u2581b", TypeNormal}, {"<0x0A", TypeNormal}, {"<s>x", TypeNormal},
	}
	for i, w := range want {
		if v.Tokens[i] != w.tok || v.Types[i] != w.typ || v.Scores[i] != scores[i] {
			t.Errorf("token %d: %q type %d score %v, want %q type %d score %v", i, v.Tokens[i], v.Types[i], v.Scores[i], w.tok, w.typ, scores[i])
		}
	}
}

func TestParseVocabEveryTruncationIsAFormatError(t *testing.T) {
	b := tokBin(5, []string{"<unk>", "ab", "", "cde"}, []float32{0, -1, -2, -3})
	for n := 0; n < len(b); n++ {
		_, err := ParseVocab(b[:n], 4)
		testutil.WantErr(t, "truncated tokenizer.bin", err, errs.ErrFormat)
	}
}

func TestParseVocabWrongTokenCountIsAFormatError(t *testing.T) {
	b := tokBin(5, []string{"<unk>", "ab", "cde"}, []float32{0, -1, -2})
	_, err := ParseVocab(b, 2)
	testutil.WantErr(t, "n one too small", err, errs.ErrFormat, "does not match")
	_, err = ParseVocab(b, 4)
	testutil.WantErr(t, "n one too large", err, errs.ErrFormat, "token 3", "truncated")
}

func TestParseVocabBadCountIsAnInvalidArgument(t *testing.T) {
	b := tokBin(5, []string{"a"}, []float32{0})
	for _, n := range []int{0, -1, 1<<22 + 1} {
		_, err := ParseVocab(b, n)
		testutil.WantErr(t, "bad n", err, errs.ErrInvalidArgument)
	}
}

func TestParseVocabBadLengthsAreFormatErrors(t *testing.T) {
	for _, maxLen := range []int32{0, -1, 1<<16 + 1} {
		_, err := ParseVocab(tokBin(maxLen, []string{"a"}, []float32{0}), 1)
		testutil.WantErr(t, "max token length", err, errs.ErrFormat, "max token length")
	}
	// A piece longer than the declared maximum.
	_, err := ParseVocab(tokBin(2, []string{"abc"}, []float32{0}), 1)
	testutil.WantErr(t, "piece above max length", err, errs.ErrFormat, "token 0", "length 3")
	// A negative piece length.
	b := tokBin(4, []string{"ab"}, []float32{0})
	binary.LittleEndian.PutUint32(b[8:], uint32(0xFFFFFFFF))
	_, err = ParseVocab(b, 1)
	testutil.WantErr(t, "negative piece length", err, errs.ErrFormat, "length -1")
}

func TestReadVocabNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok.bin")
	if err := os.WriteFile(p, tokBin(3, []string{"abc"}, []float32{0}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadVocab(p, 1); err != nil {
		t.Fatal(err)
	}
	_, err := ReadVocab(p, 2)
	testutil.WantErr(t, "wrong count", err, errs.ErrFormat, p)
	if _, err := ReadVocab(filepath.Join(t.TempDir(), "absent.bin"), 1); err == nil || errors.Is(err, errs.ErrFormat) {
		t.Errorf("missing file: error %v, want a file-system error", err)
	}
}
