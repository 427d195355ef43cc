package tokenize

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// smallVocab builds a vocabulary by hand: <unk> <s> </s>, then pieces with
// their scores, then byte tokens for the bytes listed.
func smallVocab(t *testing.T, pieces map[string]float32, bytes string, spacePrefix bool) *SPM {
	t.Helper()
	v := Vocab{
		Tokens: []string{"<unk>", "<s>", "</s>"},
		Scores: []float32{0, 0, 0},
		Types:  []int32{TokenTypeUnknown, TokenTypeControl, TokenTypeControl},
		BOS:    1, EOS: 2, UNK: 0, PAD: -1,
		AddSpacePrefix: spacePrefix,
	}
	for _, p := range slices.Sorted(maps.Keys(pieces)) {
		v.Tokens = append(v.Tokens, p)
		v.Scores = append(v.Scores, pieces[p])
		v.Types = append(v.Types, TokenTypeNormal)
	}
	for i := 0; i < len(bytes); i++ {
		v.Tokens = append(v.Tokens, byteTokenText(bytes[i]))
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, TokenTypeByte)
	}
	s, err := NewSPM(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pieces turns ids back into their pieces for readable comparisons.
func pieces(t *testing.T, tok Tokenizer, ids []int32) []string {
	t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		p, err := tok.TokenToPiece(id)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

func encodePieces(t *testing.T, tok Tokenizer, text string, opts EncodeOptions) []string {
	t.Helper()
	ids, err := tok.Encode(text, opts)
	if err != nil {
		t.Fatalf("encode %q: %v", text, err)
	}
	return pieces(t, tok, ids)
}

func TestSPMMergesHighestScoreFirst(t *testing.T) {
	tok := smallVocab(t, map[string]float32{"a": 0, "b": 0, "c": 0, "ab": -2, "bc": -1}, "", false)
	if got, want := encodePieces(t, tok, "abc", EncodeOptions{}), []string{"a", "bc"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSPMMergesLeftmostOnEqualScores(t *testing.T) {
	tok := smallVocab(t, map[string]float32{"a": 0, "b": 0, "c": 0, "ab": -1, "bc": -1}, "", false)
	if got, want := encodePieces(t, tok, "abc", EncodeOptions{}), []string{"ab", "c"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A merge enables further merges with the grown symbol.
	tok = smallVocab(t, map[string]float32{"a": 0, "b": 0, "c": 0, "ab": -1, "bc": -1, "abc": -5}, "", false)
	if got, want := encodePieces(t, tok, "abc", EncodeOptions{}), []string{"abc"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSPMSpacePrefixAndEscape(t *testing.T) {
	p := map[string]float32{"▁": 0, "a": 0, "b": 0, "▁a": -1, "▁b": -1}
	on := smallVocab(t, p, "", true)
	if got, want := encodePieces(t, on, "a b", EncodeOptions{}), []string{"▁a", "▁b"}; !slices.Equal(got, want) {
		t.Errorf("prefix on: got %q, want %q", got, want)
	}
	off := smallVocab(t, p, "", false)
	if got, want := encodePieces(t, off, "a b", EncodeOptions{}), []string{"a", "▁b"}; !slices.Equal(got, want) {
		t.Errorf("prefix off: got %q, want %q", got, want)
	}
}

func TestSPMUnknownCharacterFallsBackToBytesThenUNK(t *testing.T) {
	// 'é' is C3 A9: <0xC3> exists, 0xA9 has no byte token -> <unk>.
	tok := smallVocab(t, map[string]float32{"a": 0}, "\xc3", false)
	if got, want := encodePieces(t, tok, "aé", EncodeOptions{}), []string{"a", "<0xC3>", "<unk>"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// Without an UNK token the byte cannot be encoded.
	v := Vocab{Tokens: []string{"a"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	noUnk, err := NewSPM(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noUnk.Encode("ab", EncodeOptions{}); !errors.Is(err, errs.ErrTokenization) {
		t.Errorf("encode without byte tokens or UNK: err %v, want ErrTokenization", err)
	}
	if _, err := noUnk.Encode("a", EncodeOptions{AddBOS: true}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("AddBOS without BOS: err %v, want ErrInvalidArgument", err)
	}
	if _, err := noUnk.Encode("a", EncodeOptions{AddEOS: true}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("AddEOS without EOS: err %v, want ErrInvalidArgument", err)
	}
}

func TestSPMEmptyTextGivesOnlyRequestedBOSAndEOS(t *testing.T) {
	tok := loadGGUF(t, storiesGGUF)
	for _, c := range []struct {
		opts EncodeOptions
		want []int32
	}{
		{EncodeOptions{}, []int32{}},
		{EncodeOptions{AddBOS: true}, []int32{1}},
		{EncodeOptions{AddBOS: true, AddEOS: true}, []int32{1, 2}},
	} {
		got, err := tok.Encode("", c.opts)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Encode(\"\", %+v) = %v, %v; want %v", c.opts, got, err, c.want)
		}
	}
	got, err := tok.Encode("Once upon", EncodeOptions{AddBOS: true, AddEOS: true})
	if err != nil || !slices.Equal(got, []int32{1, 403, 407, 2}) {
		t.Errorf("with BOS and EOS: %v, %v", got, err)
	}
}

func TestSPMParseSpecialMatchesControlTokens(t *testing.T) {
	tok := loadGGUF(t, storiesGGUF)
	on := EncodeOptions{ParseSpecial: true}
	for _, c := range []struct {
		text string
		want []int32
	}{
		// Text after a special token gets the space prefix again.
		{"<s>Once upon</s>", []int32{1, 403, 407, 2}},
		{"<s>", []int32{1}},
		{"a<s>a", []int32{261, 1, 261}},
		{"</s></s>", []int32{2, 2}},
		{"<unk>", []int32{0}},
	} {
		got, err := tok.Encode(c.text, on)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q, ParseSpecial) = %v, %v; want %v", c.text, got, err, c.want)
		}
	}
	// Without ParseSpecial the same text is plain text (tok512Cases has the ids).
	got, err := tok.Encode("<s>", EncodeOptions{})
	if err != nil || !slices.Equal(got, []int32{410, 504, 419, 505}) {
		t.Errorf("Encode(\"<s>\") = %v, %v; want plain-text pieces", got, err)
	}
}

func TestSPMUserDefinedTokensAlwaysMatched(t *testing.T) {
	v := Vocab{
		Tokens: []string{"<unk>", "▁", "x", "▁x", "<|u|>"},
		Types:  []int32{TokenTypeUnknown, TokenTypeNormal, TokenTypeNormal, TokenTypeNormal, TokenTypeUserDefined},
		BOS:    -1, EOS: -1, UNK: 0, PAD: -1, AddSpacePrefix: true,
	}
	tok, err := NewSPM(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, parse := range []bool{false, true} {
		got := encodePieces(t, tok, "x<|u|>x", EncodeOptions{ParseSpecial: parse})
		if want := []string{"▁x", "<|u|>", "▁x"}; !slices.Equal(got, want) {
			t.Errorf("ParseSpecial %v: got %q, want %q", parse, got, want)
		}
	}
	// User-defined pieces decode verbatim, even with SkipSpecial.
	s, err := tok.Decode([]int32{3, 4}, DecodeOptions{SkipSpecial: true})
	if err != nil || s != " x<|u|>" {
		t.Errorf("decode: %q, %v", s, err)
	}
}

func TestSPMInvalidUTF8GoesThroughByteFallback(t *testing.T) {
	// Defined behaviour (llama.cpp's): the text is cut into symbols by the
	// length each lead byte announces, so a broken sequence swallows the
	// following byte(s); symbols that are not pieces become byte tokens.
	tok := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	for _, c := range []struct {
		text string
		want []string
	}{
		{"\xff", []string{"▁", "<0xFF>"}},
		{"a\x80", []string{"▁a", "<0x80>"}},
		// E4 announces 3 bytes: "\xe4b" is one symbol, so 'b' is a byte too.
		{"a\xe4b", []string{"▁a", "<0xE4>", "<0x62>"}},
		{"\xe4\xb8", []string{"▁", "<0xE4>", "<0xB8>"}},
	} {
		got := encodePieces(t, tok, c.text, EncodeOptions{})
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.text, got, c.want)
			continue
		}
		ids, _ := tok.Encode(c.text, EncodeOptions{})
		back, err := tok.Decode(ids, DecodeOptions{StripLeadingSpace: true})
		if err != nil || back != c.text {
			t.Errorf("%q: decode gives %q, %v; want the same bytes", c.text, back, err)
		}
	}
	// Spaces are escaped to U+2581 (E2 96 81) before the cut, so a broken
	// lead byte before a space swallows part of the escape: the bytes come
	// back as "\xc3▁", not "\xc3 ", exactly as llama.cpp's ids decode.
	got := encodePieces(t, tok, "\xc3 0", EncodeOptions{})
	want := []string{"▁", "<0xC3>", "<0xE2>", "<0x96>", "<0x81>", "0"}
	if !slices.Equal(got, want) {
		t.Errorf("lead byte before a space: got %q, want %q", got, want)
	}
}

func TestSPMDecodeSpecialAndErrors(t *testing.T) {
	tok := loadGGUF(t, storiesGGUF)
	ids := []int32{1, 0, 403, 13, 2}
	got, err := tok.Decode(ids, DecodeOptions{})
	if want := "<s><unk> Once\n</s>"; err != nil || got != want {
		t.Errorf("Decode = %q, %v; want %q", got, err, want)
	}
	got, err = tok.Decode(ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true})
	if want := "Once\n"; err != nil || got != want {
		t.Errorf("Decode skipping special = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []int32{-1, 512} {
		if _, err := tok.Decode([]int32{403, bad}, DecodeOptions{}); !errors.Is(err, errs.ErrTokenization) {
			t.Errorf("Decode with id %d: err %v, want ErrTokenization", bad, err)
		}
		if _, err := tok.TokenToPiece(bad); !errors.Is(err, errs.ErrTokenization) {
			t.Errorf("TokenToPiece(%d): err %v, want ErrTokenization", bad, err)
		}
	}
}
