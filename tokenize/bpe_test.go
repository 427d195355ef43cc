package tokenize

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// tinyBPE builds a byte-level vocabulary by hand: the 256 bytes (ids
// 0..255 in byte order), then the merged pieces of merges in order, then
// <s> and </s> (control) and <tool> (user-defined).
func tinyBPE(t *testing.T, merges []string, edit func(v *BPEVocab)) *BPE {
	t.Helper()
	v := BPEVocab{PreTokenizer: "gpt2", BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1}
	for c := range 256 {
		v.Tokens = append(v.Tokens, byteLevelEncode(string([]byte{byte(c)})))
		v.Types = append(v.Types, TokenTypeNormal)
	}
	for _, m := range merges {
		a, b, _ := strings.Cut(m, " ")
		pair := [2]string{byteLevelEncode(a), byteLevelEncode(b)}
		v.Merges = append(v.Merges, pair)
		if !slices.Contains(v.Tokens, pair[0]+pair[1]) {
			v.Tokens = append(v.Tokens, pair[0]+pair[1])
			v.Types = append(v.Types, TokenTypeNormal)
		}
	}
	v.BOS = int32(len(v.Tokens))
	v.EOS = v.BOS + 1
	v.Tokens = append(v.Tokens, "<s>", "</s>", "<tool>")
	v.Types = append(v.Types, TokenTypeControl, TokenTypeControl, TokenTypeUserDefined)
	if edit != nil {
		edit(&v)
	}
	b, err := NewBPE(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawPieces decodes each id on its own.
func rawPieces(t *testing.T, b *BPE, ids []int32) []string {
	t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		s, err := b.Decode([]int32{id}, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = s
	}
	return out
}

func encodeRaw(t *testing.T, b *BPE, text string, opts EncodeOptions) []string {
	t.Helper()
	ids, err := b.Encode(text, opts)
	if err != nil {
		t.Fatalf("encode %q: %v", text, err)
	}
	return rawPieces(t, b, ids)
}

func TestBPEMergesLowestRankFirst(t *testing.T) {
	b := tinyBPE(t, []string{"b c", "a b"}, nil)
	if got, want := encodeRaw(t, b, "abc", EncodeOptions{}), []string{"a", "bc"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	b = tinyBPE(t, []string{"a b", "b c", "ab c"}, nil)
	if got, want := encodeRaw(t, b, "abc", EncodeOptions{}), []string{"abc"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBPEMergesLeftmostOfEqualPairsFirst(t *testing.T) {
	b := tinyBPE(t, []string{"a a"}, nil)
	if got, want := encodeRaw(t, b, "aaaaa", EncodeOptions{}), []string{"aa", "aa", "a"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBPEIgnoreMergesEmitsWholePieces(t *testing.T) {
	// "abc" is a piece, but no merge reaches it from a, b, c.
	edit := func(v *BPEVocab) {
		v.Tokens = append(v.Tokens, "abc")
		v.Types = append(v.Types, TokenTypeNormal)
	}
	b := tinyBPE(t, []string{"a b"}, edit)
	if got, want := encodeRaw(t, b, "abc", EncodeOptions{}), []string{"ab", "c"}; !slices.Equal(got, want) {
		t.Errorf("without ignore_merges: got %q, want %q", got, want)
	}
	b = tinyBPE(t, []string{"a b"}, func(v *BPEVocab) { edit(v); v.IgnoreMerges = true })
	if got, want := encodeRaw(t, b, "abc", EncodeOptions{}), []string{"abc"}; !slices.Equal(got, want) {
		t.Errorf("with ignore_merges: got %q, want %q", got, want)
	}
}

func TestBPEControlTokensMatchOnlyWithParseSpecialUserDefinedAlways(t *testing.T) {
	b := tinyBPE(t, nil, nil)
	plain := encodeRaw(t, b, "<s>x<tool>", EncodeOptions{})
	if want := []string{"<", "s", ">", "x", "<tool>"}; !slices.Equal(plain, want) {
		t.Errorf("without ParseSpecial: got %q, want %q", plain, want)
	}
	ids, err := b.Encode("<s>x<tool></s>", EncodeOptions{ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != b.BOS() || ids[len(ids)-1] != b.EOS() || len(ids) != 4 {
		t.Errorf("with ParseSpecial: got %v", ids)
	}
	got, _ := b.Decode(ids, DecodeOptions{SkipSpecial: true})
	if got != "x<tool>" {
		t.Errorf("decode skipping specials: %q", got)
	}
	got, _ = b.Decode(ids, DecodeOptions{})
	if got != "<s>x<tool></s>" {
		t.Errorf("decode keeping specials: %q", got)
	}
}

func TestBPELongestAddedTokenWinsAtTheSamePlace(t *testing.T) {
	b := tinyBPE(t, nil, func(v *BPEVocab) {
		v.Tokens = append(v.Tokens, "<to", "ol>")
		v.Types = append(v.Types, TokenTypeUserDefined, TokenTypeUserDefined)
	})
	if got, want := encodeRaw(t, b, "<tool>ol>", EncodeOptions{}), []string{"<tool>", "ol>"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBPEInvalidUTF8RoundTripsByteForByte(t *testing.T) {
	b := tinyBPE(t, []string{"a b"}, nil)
	for _, s := range []string{"\xff", "ab\xc3", "\xe2\x82 x \x80\x80ab", "\xf0\x9f\x98"} {
		ids, err := b.Encode(s, EncodeOptions{})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got, _ := b.Decode(ids, DecodeOptions{}); got != s {
			t.Errorf("%q decodes to %q", s, got)
		}
	}
}

func TestBPEMissingByteIsUNKOrAnError(t *testing.T) {
	drop := func(v *BPEVocab) { v.Tokens[0xFF] = "unused-slot"; v.Types[0xFF] = TokenTypeUnused }
	b := tinyBPE(t, nil, drop)
	if _, err := b.Encode("x\xff", EncodeOptions{}); !errors.Is(err, errs.ErrTokenization) {
		t.Errorf("byte without token and no UNK: %v", err)
	}
	b = tinyBPE(t, nil, func(v *BPEVocab) { drop(v); v.UNK = 'u' })
	ids, err := b.Encode("x\xff", EncodeOptions{})
	if err != nil || !slices.Equal(ids, []int32{'x', 'u'}) {
		t.Errorf("byte without token: %v, %v; want UNK", ids, err)
	}
}

func TestBPESmallAndLargeMergePathsAgree(t *testing.T) {
	// Random merges over a small alphabet, random words: the rescanning
	// path and the heap path must give the same ids.
	r := rand.New(rand.NewPCG(1, 2))
	alpha := "abcd"
	var merges []string
	pieces := []string{"a", "b", "c", "d"}
	for len(merges) < 60 {
		x, y := pieces[r.IntN(len(pieces))], pieces[r.IntN(len(pieces))]
		if len(x+y) > 6 || slices.Contains(pieces, x+y) {
			continue
		}
		merges = append(merges, x+" "+y)
		pieces = append(pieces, x+y)
	}
	b := tinyBPE(t, merges, nil)
	var sc mergeScratch
	for range 300 {
		n := 2 + r.IntN(smallWord-1)
		w := make([]byte, n)
		for i := range w {
			w[i] = alpha[r.IntN(len(alpha))]
		}
		ids := make([]int32, n)
		for i, c := range w {
			ids[i] = b.byteID[c]
		}
		small := b.mergeSmall(slices.Clone(ids), nil, &sc)
		large, err := b.mergeLarge(ids, nil)
		if err != nil || !slices.Equal(small, large) {
			t.Fatalf("%s: small %v, large %v (%v)", w, small, large, err)
		}
	}
}

func TestBPEEncodeAddsBOSAndEOSOnRequest(t *testing.T) {
	b := tinyBPE(t, nil, nil)
	ids, err := b.Encode("x", EncodeOptions{AddBOS: true, AddEOS: true})
	if err != nil || !slices.Equal(ids, []int32{b.BOS(), 'x', b.EOS()}) {
		t.Errorf("got %v, %v", ids, err)
	}
	nb := tinyBPE(t, nil, func(v *BPEVocab) { v.BOS, v.EOS = -1, -1 })
	if _, err := nb.Encode("x", EncodeOptions{AddBOS: true}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("BOS without one: %v", err)
	}
	if _, err := nb.Encode("x", EncodeOptions{AddEOS: true}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("EOS without one: %v", err)
	}
}

func TestNewBPERejectsBadVocabularies(t *testing.T) {
	cases := []struct {
		name string
		edit func(v *BPEVocab)
		kind error
	}{
		{"merge of unknown piece", func(v *BPEVocab) { v.Merges = append(v.Merges, [2]string{"zz", "a"}) }, errs.ErrFormat},
		{"merge makes unknown piece", func(v *BPEVocab) { v.Merges = append(v.Merges, [2]string{"a", "c"}) }, errs.ErrFormat},
		{"unknown pre-tokenizer", func(v *BPEVocab) { v.PreTokenizer = "qwen2" }, errs.ErrUnsupported},
		{"types too short", func(v *BPEVocab) { v.Types = v.Types[:3] }, errs.ErrFormat},
		{"EOT out of range", func(v *BPEVocab) { v.EOT = 1 << 20 }, errs.ErrFormat},
		{"BOS out of range", func(v *BPEVocab) { v.BOS = -7 }, errs.ErrFormat},
		{"no tokens", func(v *BPEVocab) { v.Tokens, v.Types, v.Merges, v.BOS, v.EOS = nil, nil, nil, -1, -1 }, errs.ErrFormat},
	}
	for _, c := range cases {
		v := BPEVocab{PreTokenizer: "gpt2", BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1}
		for c := range 256 {
			v.Tokens = append(v.Tokens, byteLevelEncode(string([]byte{byte(c)})))
		}
		v.Types = make([]int32, len(v.Tokens))
		c.edit(&v)
		if _, err := NewBPE(v); !errors.Is(err, c.kind) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.kind)
		}
	}
}

func TestByteLevelAlphabetIsABijection(t *testing.T) {
	seen := map[rune]bool{}
	for c := range 256 {
		r := byteLevel.toRune[c]
		if seen[r] {
			t.Fatalf("byte %d maps to %q, already used", c, r)
		}
		seen[r] = true
	}
	if byteLevel.toRune[' '] != 'Ġ' || byteLevel.toRune['\n'] != 'Ċ' || byteLevel.toRune['a'] != 'a' {
		t.Errorf("space, newline, a map to %q %q %q", byteLevel.toRune[' '], byteLevel.toRune['\n'], byteLevel.toRune['a'])
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	back, ok := byteLevelDecode(byteLevelEncode(string(all)))
	if !ok || back != string(all) {
		t.Errorf("round trip of all bytes failed")
	}
	if _, ok := byteLevelDecode("a€"); ok {
		t.Errorf("€ is outside the alphabet but decoded")
	}
}
