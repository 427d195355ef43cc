package tokenize

import (
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
