package tokenize

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/errs"
)

// The expected pieces come from Hugging Face tokenizers 0.23.3:
// pre_tokenizers.Split(Regex(pattern), "isolated").pre_tokenize_str(text).
var splitCases = []struct {
	text         string
	llama3, gpt2 []string
}{
	{"ternary'ſa 'ſ", []string{"ternary", "'ſ", "a", " '", "ſ"}, []string{"ternary", "'", "ſa", " '", "ſ"}},
	{"I'S it 'ſ x 'K 'll 'LL 'Re",
		[]string{"I", "'S", " it", " '", "ſ", " x", " '", "K", " '", "ll", " '", "LL", " '", "Re"},
		[]string{"I", "'", "S", " it", " '", "ſ", " x", " '", "K", " '", "ll", " '", "LL", " '", "Re"}},
	{"a   b\n\n c  \t\n d \u00a0x",
		[]string{"a", "  ", " b", "\n\n", " c", "  \t\n", " d", " ", "\u00a0x"},
		[]string{"a", "  ", " b", "\n\n", " c", "  \t\n", " d", " ", "\u00a0", "x"}},
	{"12345 x\u0301y ½⅓",
		[]string{"123", "45", " x", "\u0301y", " ", "½⅓"},
		[]string{"12345", " x", "\u0301", "y", " ½⅓"}},
	{"  \r\n\r\n  x", []string{"  \r\n\r\n", " ", " x"}, []string{"  \r\n\r\n ", " x"}},
	{"\t\tfoo(bar)!!\n\n", []string{"\t", "\tfoo", "(bar", ")!!\n\n"}, []string{"\t", "\t", "foo", "(", "bar", ")!!", "\n\n"}},
	{"don't STOP'd", []string{"don", "'t", " STOP", "'d"}, []string{"don", "'t", " STOP", "'d"}},
	{"x \n", []string{"x", " \n"}, []string{"x", " \n"}},
	{"x  ", []string{"x", "  "}, []string{"x", "  "}},
	{" ", []string{" "}, []string{" "}},
	{"hello, world!  ", []string{"hello", ",", " world", "!", "  "}, []string{"hello", ",", " world", "!", "  "}},
	{"日本語テキスト 123abc", []string{"日本語テキスト", " ", "123", "abc"}, []string{"日本語テキスト", " 123", "abc"}},
	{"((a)) ' '' 'x", []string{"((", "a", "))", " '", " ''", " '", "x"}, []string{"((", "a", "))", " '", " ''", " '", "x"}},
	{"\u3000\u3000word\u2028z", []string{"\u3000", "\u3000word", "\u2028z"}, []string{"\u3000", "\u3000", "word", "\u2028", "z"}},
	{"a\r\rb", []string{"a", "\r\r", "b"}, []string{"a", "\r", "\r", "b"}},
	{"😀😀 ok? 😀x", []string{"😀😀", " ok", "?", " 😀", "x"}, []string{"😀😀", " ok", "?", " 😀", "x"}},
}

func TestLlama3SplitMatchesHuggingFaceCases(t *testing.T) {
	for _, c := range splitCases {
		if got := splitLlama3(c.text, nil); !slices.Equal(got, c.llama3) {
			t.Errorf("%q:\n got %q\nwant %q", c.text, got, c.llama3)
		}
	}
}

func TestGPT2SplitMatchesHuggingFaceCases(t *testing.T) {
	for _, c := range splitCases {
		if got := splitGPT2(c.text, nil); !slices.Equal(got, c.gpt2) {
			t.Errorf("%q:\n got %q\nwant %q", c.text, got, c.gpt2)
		}
	}
}

func TestDefaultSplitIsolatesPunctuationAndDigitTriples(t *testing.T) {
	got := splitDefault("Hello, world! 1234567 $x+=y ½12", nil)
	want := []string{"Hello", ",", " world", "!", " ", "123", "456", "7", " ", "$", "x", "+", "=", "y", " ", "½12"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestPreTokenizeKnowsLlamaCppAliasesAndRejectsUnknownNames(t *testing.T) {
	for _, name := range []string{"llama-bpe", "llama3", "llama-v3", "gpt2", "gpt-2", "default"} {
		if _, err := PreTokenize(name, "x y"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := PreTokenize("qwen2", "x"); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("unknown pre-tokenizer: got %v, want ErrUnsupported", err)
	}
}

// Reference splitters built from Go's regexp, one anchored pattern per
// alternative tried in order; `\s+(?!\S)` (no lookahead in Go) is emulated
// by backing off one character. \s is spelled out as the White_Space set
// (Go's \s is ASCII only) and (?i) as explicit classes: ASCII case and 'ſ'
// for 's', the only non-ASCII character Oniguruma (Hugging Face
// tokenizers) folds into a contraction (checked over all code points).
const wsClass = `\t\n\v\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

var (
	llama3Alts = compileAlts(
		`'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]`,
		`[^\r\n\pL\pN]?\pL+`,
		`\pN{1,3}`,
		` ?[^`+wsClass+`\pL\pN]+[\r\n]*`,
		`[`+wsClass+`]*[\r\n]+`,
	)
	gpt2Alts = compileAlts(
		`'s|'t|'re|'ve|'m|'ll|'d`,
		` ?\pL+`,
		` ?\pN+`,
		` ?[^`+wsClass+`\pL\pN]+`,
	)
	wsRun = regexp.MustCompile(`^[` + wsClass + `]+`)
)

func compileAlts(alts ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(alts))
	for i, a := range alts {
		out[i] = regexp.MustCompile(`^(?:` + a + `)`)
	}
	return out
}

// regexSplit applies alts, then \s+(?!\S), then \s+, at each position.
func regexSplit(text string, alts []*regexp.Regexp) []string {
	var out []string
	for p := 0; p < len(text); {
		end := -1
		for _, re := range alts {
			if loc := re.FindStringIndex(text[p:]); loc != nil {
				end = p + loc[1]
				break
			}
		}
		if end < 0 {
			loc := wsRun.FindStringIndex(text[p:])
			if loc == nil {
				panic("reference regexes do not cover " + text[p:])
			}
			end = p + loc[1]
			if end < len(text) {
				if _, n := utf8.DecodeLastRuneInString(text[p:end]); end-n > p {
					end -= n
				}
			}
		}
		out = append(out, text[p:end])
		p = end
	}
	return out
}

func TestRegexReferenceSplittersAgreeWithHuggingFaceCases(t *testing.T) {
	for _, c := range splitCases {
		if got := regexSplit(c.text, llama3Alts); !slices.Equal(got, c.llama3) {
			t.Errorf("llama3 reference %q: got %q", c.text, got)
		}
		if got := regexSplit(c.text, gpt2Alts); !slices.Equal(got, c.gpt2) {
			t.Errorf("gpt2 reference %q: got %q", c.text, got)
		}
	}
}

func splitSeeds(f *testing.F) {
	for _, c := range splitCases {
		f.Add(c.text)
	}
	for _, s := range corpus(200, 1) {
		f.Add(s)
	}
	for _, s := range []string{"", "\xff", "a\xffb", "'\xff", " \xe2\x80", "\r\n\x00 x", "\u0085\u0085a"} {
		f.Add(s)
	}
}

// FuzzLlama3SplitMatchesRegexReference checks the hand-written Llama-3
// splitter against the regexp-based reference, on any input (invalid UTF-8
// included: both treat an invalid byte as one non-letter character).
func FuzzLlama3SplitMatchesRegexReference(f *testing.F) {
	splitSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		got := splitLlama3(text, nil)
		if want := regexSplit(text, llama3Alts); !slices.Equal(got, want) {
			t.Fatalf("%q:\n got %q\nwant %q", text, got, want)
		}
		if strings.Join(got, "") != text {
			t.Fatalf("pieces of %q do not cover it: %q", text, got)
		}
	})
}

// FuzzGPT2SplitMatchesRegexReference does the same for GPT-2's split.
func FuzzGPT2SplitMatchesRegexReference(f *testing.F) {
	splitSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		got := splitGPT2(text, nil)
		if want := regexSplit(text, gpt2Alts); !slices.Equal(got, want) {
			t.Fatalf("%q:\n got %q\nwant %q", text, got, want)
		}
	})
}
