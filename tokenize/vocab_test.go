package tokenize

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
)

// goodVocab is a small valid vocabulary that the bad cases break one way each.
func goodVocab() Vocab {
	return Vocab{
		Tokens: []string{"<unk>", "<s>", "</s>", "<0x41>", "▁a"},
		Scores: []float32{0, 0, 0, 0, -1},
		Types:  []int32{TokenTypeUnknown, TokenTypeControl, TokenTypeControl, TokenTypeByte, TokenTypeNormal},
		BOS:    1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true,
	}
}

func TestNewSPMRejectsInconsistentVocab(t *testing.T) {
	if _, err := NewSPM(goodVocab()); err != nil {
		t.Fatalf("the base vocabulary must be valid: %v", err)
	}
	cases := map[string]func(v *Vocab){
		"no tokens":          func(v *Vocab) { v.Tokens, v.Scores, v.Types = nil, nil, nil },
		"fewer scores":       func(v *Vocab) { v.Scores = v.Scores[:3] },
		"more types":         func(v *Vocab) { v.Types = append(v.Types, TokenTypeNormal) },
		"BOS out of range":   func(v *Vocab) { v.BOS = 5 },
		"EOS out of range":   func(v *Vocab) { v.EOS = 1 << 30 },
		"UNK below -1":       func(v *Vocab) { v.UNK = -2 },
		"PAD out of range":   func(v *Vocab) { v.PAD = 99 },
		"NaN score":          func(v *Vocab) { v.Scores[4] = float32(math.NaN()) },
		"unknown token type": func(v *Vocab) { v.Types[4] = 7 },
		"negative type":      func(v *Vocab) { v.Types[4] = -1 },
		"malformed byte":     func(v *Vocab) { v.Tokens[3] = "<0xZZ>" },
	}
	for name, breakIt := range cases {
		v := goodVocab()
		breakIt(&v)
		s, err := NewSPM(v)
		if !errors.Is(err, errs.ErrFormat) || s != nil {
			t.Errorf("%s: got %v, %v; want ErrFormat", name, s, err)
		}
	}
}

func TestNewSPMCopiesTheVocab(t *testing.T) {
	v := goodVocab()
	s, err := NewSPM(v)
	if err != nil {
		t.Fatal(err)
	}
	v.Tokens[4] = "changed"
	if p, _ := s.TokenToPiece(4); p != "▁a" {
		t.Errorf("tokenizer sees the caller's later change: %q", p)
	}
}

func TestNewSPMAllowsMissingScoresAndTypes(t *testing.T) {
	v := Vocab{Tokens: []string{"▁", "a", "▁a"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1, AddSpacePrefix: true}
	s, err := NewSPM(v)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Encode("a a", EncodeOptions{})
	if err != nil || !slices.Equal(ids, []int32{2, 2}) {
		t.Errorf("encode: %v, %v", ids, err)
	}
	if s.BOS() != -1 || s.EOS() != -1 || s.IsControl(0) {
		t.Errorf("no special tokens expected")
	}
	if d := DefaultEncodeOptions(s); d.AddBOS || d.AddEOS {
		t.Errorf("defaults %+v without BOS/EOS", d)
	}
}

// ggufVocab writes goodVocab as GGUF metadata.
func ggufVocab() *gguf.Metadata {
	v := goodVocab()
	md := gguf.NewMetadata()
	md.Set(KeyModel, gguf.MustValue("llama"))
	md.Set(KeyTokens, gguf.MustValue(v.Tokens))
	md.Set(KeyScores, gguf.MustValue(v.Scores))
	md.Set(KeyTokenType, gguf.MustValue(v.Types))
	md.Set(KeyBOS, gguf.MustValue(uint32(1)))
	md.Set(KeyEOS, gguf.MustValue(uint32(2)))
	return md
}

func TestFromGGUFReadsKeysAndDefaults(t *testing.T) {
	md := ggufVocab()
	tok, err := FromGGUF(md)
	if err != nil {
		t.Fatal(err)
	}
	s := tok.(*SPM)
	if s.UNK() != 0 || s.PAD() != -1 || !s.v.AddBOS || s.v.AddEOS || !s.v.AddSpacePrefix {
		t.Errorf("defaults: %+v", s.v)
	}
	md.Set(KeyAddSpacePrefix, gguf.MustValue(false))
	md.Set(KeyAddEOS, gguf.MustValue(true))
	md.Set(KeyPAD, gguf.MustValue(int32(-1)))
	md.Set(KeyBOS, gguf.MustValue(uint64(2)))
	tok, err = FromGGUF(md)
	if err != nil {
		t.Fatal(err)
	}
	s = tok.(*SPM)
	if s.v.AddSpacePrefix || !s.v.AddEOS || s.PAD() != -1 || s.BOS() != 2 {
		t.Errorf("explicit keys not applied: %+v", s.v)
	}
	// Without the space prefix, "a" is not "▁a": byte fallback for 'a' (no
	// <0x61>) gives UNK.
	ids, err := s.Encode("a", EncodeOptions{})
	if err != nil || !slices.Equal(ids, []int32{0}) {
		t.Errorf("encode without space prefix: %v, %v", ids, err)
	}
}

func TestFromGGUFRejectsBadMetadata(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(md *gguf.Metadata)
		kind  error
		words string
	}{
		{"no model key", func(md *gguf.Metadata) { md.Delete(KeyModel) }, errs.ErrFormat, KeyModel},
		{"model not a string", func(md *gguf.Metadata) { md.Set(KeyModel, gguf.MustValue(uint32(1))) }, errs.ErrFormat, KeyModel},
		{"gpt2 model without merges", func(md *gguf.Metadata) { md.Set(KeyModel, gguf.MustValue("gpt2")) }, errs.ErrFormat, KeyMerges},
		{"bert model", func(md *gguf.Metadata) { md.Set(KeyModel, gguf.MustValue("bert")) }, errs.ErrUnsupported, `"bert"`},
		{"no tokens key", func(md *gguf.Metadata) { md.Delete(KeyTokens) }, errs.ErrFormat, KeyTokens},
		{"tokens not strings", func(md *gguf.Metadata) { md.Set(KeyTokens, gguf.MustValue([]int32{1, 2})) }, errs.ErrFormat, KeyTokens},
		{"scores not numbers", func(md *gguf.Metadata) { md.Set(KeyScores, gguf.MustValue([]string{"x"})) }, errs.ErrFormat, KeyScores},
		{"scores too short", func(md *gguf.Metadata) { md.Set(KeyScores, gguf.MustValue([]float32{0})) }, errs.ErrFormat, "scores"},
		{"types too long", func(md *gguf.Metadata) { md.Set(KeyTokenType, gguf.MustValue(make([]int32, 9))) }, errs.ErrFormat, "token types"},
		{"types not ints", func(md *gguf.Metadata) { md.Set(KeyTokenType, gguf.MustValue([]float32{1})) }, errs.ErrFormat, KeyTokenType},
		{"BOS out of range", func(md *gguf.Metadata) { md.Set(KeyBOS, gguf.MustValue(uint32(5))) }, errs.ErrFormat, KeyBOS},
		{"EOS not an integer", func(md *gguf.Metadata) { md.Set(KeyEOS, gguf.MustValue("2")) }, errs.ErrFormat, KeyEOS},
		{"add_bos not a bool", func(md *gguf.Metadata) { md.Set(KeyAddBOS, gguf.MustValue(uint8(1))) }, errs.ErrFormat, KeyAddBOS},
	}
	for _, c := range cases {
		md := ggufVocab()
		c.edit(md)
		tok, err := FromGGUF(md)
		if !errors.Is(err, c.kind) || tok != nil {
			t.Errorf("%s: got %v, %v; want %v", c.name, tok, err, c.kind)
			continue
		}
		if !strings.Contains(err.Error(), c.words) {
			t.Errorf("%s: error %q does not name %s", c.name, err, c.words)
		}
	}
	if _, err := FromGGUF(nil); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("nil metadata: %v", err)
	}
}
