package tokenize

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// streamAll pushes ids one by one, checks every chunk is valid UTF-8 and
// returns the chunks and their concatenation with Flush's rest.
func streamAll(t *testing.T, tok Tokenizer, ids []int32, opts DecodeOptions) ([]string, string) {
	t.Helper()
	d := NewStreamDecoder(tok, opts)
	var chunks []string
	var all strings.Builder
	for _, id := range ids {
		s, err := d.Push(id)
		if err != nil {
			t.Fatalf("push %d: %v", id, err)
		}
		if !utf8.ValidString(s) {
			t.Fatalf("push %d emitted broken UTF-8 %q", id, s)
		}
		chunks = append(chunks, s)
		all.WriteString(s)
	}
	rest := d.Flush()
	if !utf8.ValidString(rest) {
		t.Fatalf("flush emitted broken UTF-8 %q", rest)
	}
	chunks = append(chunks, rest)
	all.WriteString(rest)
	return chunks, all.String()
}

func TestStreamDecoderHoldsBackSplitCharacters(t *testing.T) {
	tok := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	// 🙂 (F0 9F 99 82) has no piece: four byte tokens, then a normal piece.
	ids, err := tok.Encode("🙂 ok", EncodeOptions{AddBOS: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"<s>", "▁", "<0xF0>", "<0x9F>", "<0x99>", "<0x82>", "▁ok"}
	if got := pieces(t, tok, ids); !slices.Equal(got, want) {
		t.Fatalf("fixture changed: pieces %q", got)
	}
	chunks, all := streamAll(t, tok, ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true})
	// BOS, "▁" (stripped), F0, 9F, 99 give nothing; 82 completes the emoji.
	for i := 0; i < 5; i++ {
		if chunks[i] != "" {
			t.Errorf("chunk %d = %q, want it held back", i, chunks[i])
		}
	}
	if chunks[5] != "🙂" {
		t.Errorf("chunk 5 = %q, want the whole emoji", chunks[5])
	}
	if all != "🙂 ok" {
		t.Errorf("stream gives %q", all)
	}
}

func TestStreamDecoderConcatenatesToDecodeOnLlamaVectors(t *testing.T) {
	// The vectors include emojis and Khmer split into byte tokens.
	tok := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	inputs, want := readVocabCases(t, "tokenizers/ggml-vocab-llama-spm.gguf.inp", "tokenizers/ggml-vocab-llama-spm.gguf.out")
	for _, opts := range []DecodeOptions{{}, {StripLeadingSpace: true}, {SkipSpecial: true, StripLeadingSpace: true}} {
		for i := range inputs {
			ids := append([]int32{tok.BOS()}, want[i]...)
			full, err := tok.Decode(ids, opts)
			if err != nil {
				t.Fatal(err)
			}
			_, all := streamAll(t, tok, ids, opts)
			if all != full {
				t.Errorf("case %d %+v: stream %q, decode %q", i, opts, all, full)
			}
		}
	}
}

func TestStreamDecoderReplacesInvalidBytes(t *testing.T) {
	tok := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	byteID := func(b byte) int32 { return tok.ids[byteTokenText(b)] }
	a := tok.ids["a"]
	// E4 B8 starts a 3-byte character; 'a' proves it never completes.
	ids := []int32{byteID(0xE4), byteID(0xB8), a, byteID(0xFF), a, byteID(0xF0), byteID(0x9F)}
	chunks, all := streamAll(t, tok, ids, DecodeOptions{})
	want := []string{"", "", "\uFFFD\uFFFDa", "\uFFFD", "a", "", "", "\uFFFD\uFFFD"}
	for i := range want {
		if chunks[i] != want[i] {
			t.Errorf("chunk %d = %q, want %q", i, chunks[i], want[i])
		}
	}
	full, err := tok.Decode(ids, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string([]rune(full)) != all {
		t.Errorf("stream %q is not Decode %q with invalid bytes replaced", all, full)
	}
}

func TestStreamDecoderStripsOnlyTheFirstTextPiece(t *testing.T) {
	tok := loadGGUF(t, storiesGGUF)
	// BOS produces no text, so the strip applies to "▁Once", not later.
	ids := []int32{1, 403, 407}
	chunks, all := streamAll(t, tok, ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true})
	if all != "Once upon" || chunks[1] != "Once" || chunks[2] != " upon" {
		t.Errorf("chunks %q", chunks)
	}
	d := NewStreamDecoder(tok, DecodeOptions{})
	if _, err := d.Push(512); err == nil {
		t.Error("push of an out-of-range id: no error")
	}
}

func TestStreamDecoderHoldsBackBytesOfByteLevelBPE(t *testing.T) {
	b := loadLlama3(t)
	texts := append(corpus(300, 31), "日本語 🦙👨‍👩‍👧 ok", " leading space kept")
	for _, text := range texts {
		ids, err := b.Encode(text, EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Byte-level BPE adds no space, so StripLeadingSpace keeps it.
		_, all := streamAll(t, b, ids, DecodeOptions{StripLeadingSpace: true})
		if all != text {
			t.Fatalf("stream gives %q, want %q", all, text)
		}
	}
	// 🦙 is split over several tokens: nothing comes out before it is whole.
	ids, _ := b.Encode("🦙", EncodeOptions{})
	if len(ids) < 2 {
		t.Fatalf("fixture changed: 🦙 is %v", ids)
	}
	chunks, _ := streamAll(t, b, ids, DecodeOptions{})
	for i, c := range chunks[:len(ids)-1] {
		if c != "" {
			t.Errorf("chunk %d = %q before the character is complete", i, c)
		}
	}
}

func TestStreamDecoderFollowsSentencePieceLeadingSpaceRule(t *testing.T) {
	tok, err := FromSentencePiece(testassets.Path(t, "models/tok512.model"))
	if err != nil {
		t.Fatal(err)
	}
	// sentencepiece 0.2 decodes ▁ ▁ x (ids 410 410 444) of tok512 to "x".
	ids := []int32{1, 410, 410, 444}
	want, err := tok.Decode(ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true})
	if err != nil || want != "x" {
		t.Fatalf("decode gives %q (%v), want %q", want, err, "x")
	}
	if _, all := streamAll(t, tok, ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true}); all != want {
		t.Errorf("stream gives %q, want %q", all, want)
	}
}
