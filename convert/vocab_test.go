package convert

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
)

// copyAsset copies a shared asset into dir under name.
func copyAsset(t *testing.T, rel, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(testassets.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadVocabReadsModelAndBinToTheSameVocabulary(t *testing.T) {
	fromModel, err := LoadVocab(testassets.Path(t, "models/tok512.model"), 512)
	if err != nil {
		t.Fatal(err)
	}
	fromBin, err := LoadVocab(testassets.Path(t, "models/tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromModel, fromBin) {
		t.Error("tok512.model and tok512.bin load to different vocabularies")
	}
	if fromModel.BOS != 1 || fromModel.EOS != 2 || fromModel.UNK != 0 || fromModel.Tokens[1] != "<s>" {
		t.Errorf("ids %d %d %d, token 1 %q", fromModel.BOS, fromModel.EOS, fromModel.UNK, fromModel.Tokens[1])
	}
}

func TestLoadVocabDecidesByContentNotByName(t *testing.T) {
	dir := t.TempDir()
	// A SentencePiece model named .bin and a tokenizer.bin named .model.
	spm := copyAsset(t, "models/tok512.model", dir, "tokenizer.bin")
	bin := copyAsset(t, "models/tok512.bin", dir, "tokenizer.model")
	a, err := LoadVocab(spm, 512)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadVocab(bin, 512)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the two files load to different vocabularies")
	}
}

// tokBin encodes a llama2.c tokenizer.bin.
func tokBin(maxLen int32, pieces []string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(maxLen))
	for i, p := range pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(-float32(i)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func TestLoadVocabReadsATokenizerBinWhoseFirstByteLooksLikeProtobuf(t *testing.T) {
	// A maximum token length of 10 makes the first byte 0x0a, the first
	// byte of every tokenizer.model.
	p := filepath.Join(t.TempDir(), "tok3.bin")
	if err := os.WriteFile(p, tokBin(10, []string{"<unk>", "\n<s>\n", "\n</s>\n", " ten chars"}), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := LoadVocab(p, 4)
	if err != nil {
		t.Fatal(err)
	}
	if v.Tokens[3] != "\u2581ten\u2581chars" || v.Tokens[1] != "<s>" {
		t.Errorf("tokens %q", v.Tokens)
	}
}

func TestLoadVocabErrors(t *testing.T) {
	dir := t.TempDir()
	model := testassets.Path(t, "models/tok512.model")
	bin := testassets.Path(t, "models/tok512.bin")
	_, err := LoadVocab(model, 511)
	testutil.WantErr(t, ".model of 512 for 511", err, errs.ErrModel, "512", "511")
	_, err = LoadVocab(bin, 511)
	testutil.WantErr(t, ".bin of 512 for 511", err, errs.ErrFormat, bin)
	corrupt := filepath.Join(dir, "corrupt.model")
	b, _ := os.ReadFile(model)
	if err := os.WriteFile(corrupt, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadVocab(corrupt, 512)
	testutil.WantErr(t, "truncated .model", err, errs.ErrFormat, corrupt)
	_, err = LoadVocab(filepath.Join(dir, "absent.model"), 512)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestFindVocabPrefersTheModelsOwnTokenizer(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.bin")
	names := []string{"tok512.model", "tok512.bin", "tokenizer.model", "tokenizer.bin"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Remove them one by one, best first: each time the next is found.
	for i, n := range names {
		got, err := FindVocab(model, 512)
		if err != nil || got != filepath.Join(dir, n) {
			t.Errorf("step %d: FindVocab = %q, %v; want %s", i, got, err, n)
		}
		os.Remove(filepath.Join(dir, n))
	}
	// A directory of a tokenizer's name is not a tokenizer.
	if err := os.Mkdir(filepath.Join(dir, "tokenizer.model"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := FindVocab(model, 512)
	testutil.WantErr(t, "no tokenizer", err, errs.ErrInvalidArgument, "tok512.model", "tokenizer.bin")
}

func TestFromLlama2cWithABinTokenizerEqualsTheModelTokenizer(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	ref := openGGUF(t, "gguf/stories260K-f32.gguf")
	v, err := LoadVocab(testassets.Path(t, "models/tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	w, err := FromLlama2c(m, v, "stories260K", Options{Type: quant.F32})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	for _, kv := range ref.Metadata.Entries() {
		if !strings.HasPrefix(kv.Key, "tokenizer.") {
			continue
		}
		if got, want := metaString(t, f, kv.Key), metaString(t, ref, kv.Key); got != want {
			t.Errorf("%s = %.60s, reference %.60s", kv.Key, got, want)
		}
	}
}

func TestSetTokenizerLeavesOutDisabledSpecialTokens(t *testing.T) {
	w := gguf.NewWriter()
	if err := setTokenizer(w, []string{"<unk>", "a"}, []float32{0, 0}, []int32{2, 1}, -1, -1, 0); err != nil {
		t.Fatal(err)
	}
	if w.Metadata.Has("tokenizer.ggml.bos_token_id") || w.Metadata.Has("tokenizer.ggml.eos_token_id") {
		t.Error("bos/eos ids written for disabled tokens")
	}
	if addBOS, _ := w.Metadata.Bool("tokenizer.ggml.add_bos_token"); addBOS {
		t.Error("add_bos_token true without a BOS token")
	}
	if unk, ok := w.Metadata.Uint("tokenizer.ggml.unknown_token_id"); !ok || unk != 0 {
		t.Errorf("unknown_token_id = %d, %v", unk, ok)
	}
}
