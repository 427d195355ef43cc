package sentencepiece

import (
	"testing"

	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/internal/testassets"
)

func readModel(t *testing.T, rel string) *Model {
	t.Helper()
	m, err := ReadFile(testassets.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// countTypes counts the pieces of each type.
func countTypes(m *Model) map[int32]int {
	c := map[int32]int{}
	for _, ty := range m.Types {
		c[ty]++
	}
	return c
}

// The expected values below were read with the sentencepiece Python
// package (piece size, ids, is_byte/is_control/...) and by decoding the
// trainer and normalizer specs of the files field by field.

func TestReadTok512ModelIsBPEWithByteFallback(t *testing.T) {
	m := readModel(t, "models/tok512.model")
	if len(m.Pieces) != 512 {
		t.Fatalf("%d pieces, want 512", len(m.Pieces))
	}
	want := []string{"<unk>", "<s>", "</s>", "<0x00>", "<0x01>"}
	for i, p := range want {
		if m.Pieces[i] != p {
			t.Errorf("piece %d = %q, want %q", i, m.Pieces[i], p)
		}
	}
	if m.Pieces[300] != "\u2581ha" || m.Scores[300] != -41 || m.Pieces[511] != "\u200a" || m.Scores[511] != -252 {
		t.Errorf("pieces 300, 511: %q %v, %q %v; want \"\u2581ha\" -41, \"\\u200a\" -252", m.Pieces[300], m.Scores[300], m.Pieces[511], m.Scores[511])
	}
	if c := countTypes(m); c[Byte] != 256 || c[Normal] != 253 || c[Control] != 2 || c[Unknown] != 1 {
		t.Errorf("type counts %v, want 256 byte, 253 normal, 2 control, 1 unknown", c)
	}
	if m.ModelType != BPE || !m.ByteFallback || m.UnkID != 0 || m.BOSID != 1 || m.EOSID != 2 || m.PadID != -1 {
		t.Errorf("trainer: type %d byte_fallback %v ids %d %d %d %d; want BPE, true, 0 1 2 -1", m.ModelType, m.ByteFallback, m.UnkID, m.BOSID, m.EOSID, m.PadID)
	}
	// The normalizer spec sets only its name: the rest are proto defaults.
	if m.NormalizerName != "identity" || !m.AddDummyPrefix || !m.RemoveExtraSpace || !m.EscapeSpaces {
		t.Errorf("normalizer %q dummy prefix %v remove extra %v escape %v; want identity, true, true, true", m.NormalizerName, m.AddDummyPrefix, m.RemoveExtraSpace, m.EscapeSpaces)
	}
}

func TestReadLlama2TokenizerModelIsBPEWithByteFallback(t *testing.T) {
	m := readModel(t, "tokenizers/llama2-tokenizer.model")
	if len(m.Pieces) != 32000 {
		t.Fatalf("%d pieces, want 32000", len(m.Pieces))
	}
	if m.Pieces[0] != "<unk>" || m.Pieces[1] != "<s>" || m.Pieces[2] != "</s>" || m.Pieces[3] != "<0x00>" || m.Pieces[300] != "et" || m.Pieces[31999] != "给" {
		t.Errorf("pieces 0..3, 300, 31999 = %q %q %q %q %q %q", m.Pieces[0], m.Pieces[1], m.Pieces[2], m.Pieces[3], m.Pieces[300], m.Pieces[31999])
	}
	if m.Scores[300] != -41 || m.Scores[31999] != -31740 {
		t.Errorf("scores 300, 31999 = %v %v; want -41 -31740", m.Scores[300], m.Scores[31999])
	}
	if c := countTypes(m); c[Byte] != 256 || c[Normal] != 31741 || c[Control] != 2 || c[Unknown] != 1 {
		t.Errorf("type counts %v, want 256 byte, 31741 normal, 2 control, 1 unknown", c)
	}
	if m.ModelType != BPE || !m.ByteFallback || m.UnkID != 0 || m.BOSID != 1 || m.EOSID != 2 || m.PadID != -1 {
		t.Errorf("trainer: type %d byte_fallback %v ids %d %d %d %d; want BPE, true, 0 1 2 -1", m.ModelType, m.ByteFallback, m.UnkID, m.BOSID, m.EOSID, m.PadID)
	}
	if m.NormalizerName != "identity" || !m.AddDummyPrefix || m.RemoveExtraSpace || !m.EscapeSpaces {
		t.Errorf("normalizer %q dummy prefix %v remove extra %v escape %v; want identity, true, false, true", m.NormalizerName, m.AddDummyPrefix, m.RemoveExtraSpace, m.EscapeSpaces)
	}
}

// checkAgainstGGUF compares the pieces, scores and types of m with the
// tokenizer.ggml arrays of a GGUF file.
func checkAgainstGGUF(t *testing.T, m *Model, rel string) {
	t.Helper()
	f, err := gguf.Open(testassets.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokens, ok1 := f.Metadata.Strings("tokenizer.ggml.tokens")
	scores, ok2 := f.Metadata.Float32s("tokenizer.ggml.scores")
	types, ok3 := f.Metadata.Int32s("tokenizer.ggml.token_type")
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("%s: tokenizer arrays missing", rel)
	}
	if len(tokens) != len(m.Pieces) || len(scores) != len(m.Pieces) || len(types) != len(m.Pieces) {
		t.Fatalf("%s: %d/%d/%d entries, the model %d pieces", rel, len(tokens), len(scores), len(types), len(m.Pieces))
	}
	bad := 0
	for i := range tokens {
		if m.Pieces[i] != tokens[i] || m.Scores[i] != scores[i] || m.Types[i] != types[i] {
			if bad++; bad <= 5 {
				t.Errorf("%s: piece %d: %q %v %d, GGUF %q %v %d", rel, i, m.Pieces[i], m.Scores[i], m.Types[i], tokens[i], scores[i], types[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d pieces differ", rel, bad)
	}
}

func TestTok512ModelEqualsStories260KGGUFVocabulary(t *testing.T) {
	checkAgainstGGUF(t, readModel(t, "models/tok512.model"), "gguf/stories260K-f32.gguf")
}

func TestLlama2TokenizerModelEqualsLlamaSPMGGUFVocabulary(t *testing.T) {
	checkAgainstGGUF(t, readModel(t, "tokenizers/llama2-tokenizer.model"), "tokenizers/ggml-vocab-llama-spm.gguf")
}
