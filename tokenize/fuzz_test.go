package tokenize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSPMDecodeInvertsEncode checks, on the Llama-2 vocabulary (all 256 byte
// tokens present), that any input encodes and decodes without error and that
// valid UTF-8 decodes back to the same text, except that U+2581 (the space
// symbol itself) comes back as a space. Invalid UTF-8 need not come back:
// spaces are escaped before the text is cut into characters, so a broken
// lead byte can swallow part of an escaped space (as in llama.cpp).
func FuzzSPMDecodeInvertsEncode(f *testing.F) {
	tok := loadGGUF(f, "tokenizers/ggml-vocab-llama-spm.gguf")
	for _, s := range []string{"", " ", "Hello world", "  two\n\tspaces ", "🦙.cpp", "\xff\xe4b", "<s>x</s>", "Führer ▁ ½"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, parse := range []bool{false, true} {
			ids, err := tok.Encode(text, EncodeOptions{ParseSpecial: parse})
			if err != nil {
				t.Fatalf("encode %q: %v", text, err)
			}
			got, err := tok.Decode(ids, DecodeOptions{StripLeadingSpace: true})
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want := strings.ReplaceAll(text, spaceSymbol, " "); got != want && !parse && utf8.ValidString(text) {
				t.Fatalf("%q encodes to %v, which decodes to %q", text, ids, got)
			}
		}
	})
}

func BenchmarkSPMEncodeLlamaVectors(b *testing.B) {
	tok := loadGGUF(b, "tokenizers/ggml-vocab-llama-spm.gguf")
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. 🦙 Führer 3333 ", 20)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := tok.Encode(text, EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
