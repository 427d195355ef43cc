package tokenize

import (
	"os"
	"sync"
	"testing"

	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// loadGGUF opens the shared asset rel (hash-checked) and builds its
// tokenizer, which must be an SPM.
func loadGGUF(t testing.TB, rel string) *SPM {
	t.Helper()
	f, err := gguf.Open(testassets.Path(t, rel))
	if err != nil {
		t.Fatalf("open %s: %v", rel, err)
	}
	defer f.Close()
	tok, err := FromGGUF(f.Metadata)
	if err != nil {
		t.Fatalf("FromGGUF %s: %v", rel, err)
	}
	s, ok := tok.(*SPM)
	if !ok {
		t.Fatalf("FromGGUF %s: got %T, want *SPM", rel, tok)
	}
	return s
}

// llama3Cache parses the Llama-3 tokenizer.json once per test binary
// (tokenizers are immutable, so tests can share it).
var llama3Cache = func() func(jsonPath, cfgPath string) (*BPE, error) {
	var once sync.Once
	var tok *BPE
	var err error
	return func(jsonPath, cfgPath string) (*BPE, error) {
		once.Do(func() {
			var tj, cj []byte
			if tj, err = os.ReadFile(jsonPath); err != nil {
				return
			}
			if cj, err = os.ReadFile(cfgPath); err != nil {
				return
			}
			var t Tokenizer
			if t, err = ParseHFJSON(tj, cj); err == nil {
				tok = t.(*BPE)
			}
		})
		return tok, err
	}
}()

// loadLlama3 returns the Llama-3 tokenizer built from tokenizer.json (with
// its tokenizer_config.json).
func loadLlama3(t testing.TB) *BPE {
	t.Helper()
	jsonPath := testassets.Path(t, "tokenizers/llama3-tokenizer.json")
	cfgPath := testassets.Path(t, "tokenizers/llama3-tokenizer_config.json")
	b, err := llama3Cache(jsonPath, cfgPath)
	if err != nil {
		t.Fatalf("llama3 tokenizer.json: %v", err)
	}
	return b
}
