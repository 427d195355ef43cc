package discovery

import (
	"path/filepath"
	"testing"

	"github.com/bitnet-dev/bitnet/tokenize"
)

func TestDefaultMatrixRows(t *testing.T) {
	m := DefaultMatrix()
	for _, tc := range []struct {
		arch  string
		vocab int
		repo  string
		file  string
	}{
		{"bitnet-b1.58", 128256, "microsoft/bitnet-b1.58-2B-4T", "tokenizer.json"},
		{"bitnet", 128256, "microsoft/bitnet-b1.58-2B-4T", "tokenizer.json"},
		{"llama", 128256, "HF1BitLLM/Llama3-8B-1.58-100B-tokens", "tokenizer.json"},
		{"llama", 32000, "1bitLLM/bitnet_b1_58-large", "tokenizer.model"},
		{"bitnet", 32002, "1bitLLM/bitnet_b1_58-large", "tokenizer.model"},
	} {
		c, ok := Match(m, tc.arch, tc.vocab)
		if !ok || c.Repo != tc.repo || c.File != tc.file {
			t.Errorf("Match(%s, %d) = %+v, %v; want %s %s", tc.arch, tc.vocab, c, ok, tc.repo, tc.file)
		}
	}
	for _, miss := range []struct {
		arch  string
		vocab int
	}{{"gpt2", 50257}, {"llama", 512}, {"bitnet-b1.58", 32000 + 1}} {
		if c, ok := Match(m, miss.arch, miss.vocab); ok {
			t.Errorf("Match(%s, %d) = %+v, want no row", miss.arch, miss.vocab, c)
		}
	}
	m[0].Repo = "changed"
	if DefaultMatrix()[0].Repo == "changed" {
		t.Error("DefaultMatrix returns shared state")
	}
}

func TestInspectModelReadsVocabularyFromEmbeddingThenMetadata(t *testing.T) {
	for _, tc := range []struct {
		spec modelSpec
		n    int
		from string
	}{
		{modelSpec{arch: "llama", embdRows: 700, vocabKey: 600, embedVocab: 500}, 700, "token_embd.weight"},
		{modelSpec{arch: "bitnet", vocabKey: 600, embedVocab: 500}, 600, "bitnet.vocab_size"},
		{modelSpec{arch: "llama", embedVocab: 500}, 500, tokenize.KeyTokens},
		{modelSpec{arch: "llama"}, 0, ""},
	} {
		p := writeModel(t, t.TempDir(), tc.spec)
		m, err := InspectModel(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Vocab != tc.n || m.VocabFrom != tc.from || m.Arch != tc.spec.arch || m.Metadata == nil {
			t.Errorf("%+v: vocab %d from %q arch %q, want %d from %q", tc.spec, m.Vocab, m.VocabFrom, m.Arch, tc.n, tc.from)
		}
	}
	if m, err := InspectModel(filepath.Join(t.TempDir(), "absent")); err != nil || m.Metadata != nil {
		t.Errorf("non-GGUF path: %+v, %v", m, err)
	}
}
