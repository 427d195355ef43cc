package tokenize

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// vocabTestSep separates the cases of llama.cpp's .inp and .out files
// (test-tokenizer-0 splits the files on it, newlines included).
const vocabTestSep = "\n__ggml_vocab_test__\n"

// readVocabCases parses llama.cpp's conformance vectors: the .inp file is the
// cases, each followed by the separator line; the .out file has one line of
// space-separated ids per case.
func readVocabCases(t *testing.T, inpRel, outRel string) (inputs []string, want [][]int32) {
	t.Helper()
	inp, err := os.ReadFile(testassets.Path(t, inpRel))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(testassets.Path(t, outRel))
	if err != nil {
		t.Fatal(err)
	}
	inputs = strings.Split(string(inp), vocabTestSep)
	if last := inputs[len(inputs)-1]; last != "" {
		t.Fatalf("%s: text after the last separator: %q", inpRel, last)
	}
	inputs = inputs[:len(inputs)-1]
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("%d inputs but %d output lines", len(inputs), len(lines))
	}
	for i, line := range lines {
		ids := []int32{}
		for _, f := range strings.Fields(line) {
			x, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				t.Fatalf("%s line %d: %v", outRel, i+1, err)
			}
			ids = append(ids, int32(x))
		}
		want = append(want, ids)
	}
	return inputs, want
}

func TestSPMEncodeMatchesLlamaCppLlamaSPMVectors(t *testing.T) {
	tok := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	inputs, want := readVocabCases(t, "tokenizers/ggml-vocab-llama-spm.gguf.inp", "tokenizers/ggml-vocab-llama-spm.gguf.out")
	if len(inputs) != 46 {
		t.Fatalf("parsed %d cases, the file has 46", len(inputs))
	}
	for i, in := range inputs {
		got, err := tok.Encode(in, EncodeOptions{})
		if err != nil {
			t.Errorf("case %d %q: %v", i, in, err)
			continue
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("case %d %q:\n got %v\nwant %v", i, in, got, want[i])
		}
	}
}

func TestSPMDecodeInvertsLlamaSPMVectors(t *testing.T) {
	// sentencepiece (and llama.cpp) decoding of the vectors' ids gives back
	// the input with the added leading space removed; the inputs are valid
	// UTF-8 and this vocabulary has no <unk> in them.
	tok := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	inputs, want := readVocabCases(t, "tokenizers/ggml-vocab-llama-spm.gguf.inp", "tokenizers/ggml-vocab-llama-spm.gguf.out")
	for i, in := range inputs {
		got, err := tok.Decode(want[i], DecodeOptions{StripLeadingSpace: true})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got != in {
			t.Errorf("case %d: decode gives %q, want %q", i, got, in)
		}
	}
}

func TestBPEEncodeMatchesLlamaCppLlamaBPEVectors(t *testing.T) {
	tok := loadLlama3(t)
	inputs, want := readVocabCases(t, "tokenizers/ggml-vocab-llama-bpe.gguf.inp", "tokenizers/ggml-vocab-llama-bpe.gguf.out")
	if len(inputs) != 46 {
		t.Fatalf("parsed %d cases, the file has 46", len(inputs))
	}
	for i, in := range inputs {
		got, err := tok.Encode(in, EncodeOptions{})
		if err != nil {
			t.Errorf("case %d %q: %v", i, in, err)
			continue
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("case %d %q:\n got %v\nwant %v", i, in, got, want[i])
		}
		back, err := tok.Decode(got, DecodeOptions{})
		if err != nil || back != in {
			t.Errorf("case %d: decode gives %q (%v), want %q", i, back, err, in)
		}
	}
}
