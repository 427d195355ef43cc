package tokenize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/errs"
)

// Pre-tokenizer names (Info.PreTokenizer, PreTokenize).
const (
	// PreLlama3 is the split of Llama-3 (tiktoken's cl100k-style pattern
	// with (?i:) contractions and digits in groups of at most three).
	PreLlama3 = "llama3"
	// PreGPT2 is GPT-2's split.
	PreGPT2 = "gpt2"
	// PreDefault is llama.cpp's split for BPE vocabularies that name no
	// known pre-tokenizer: punctuation isolated, then GPT-2's split, then
	// numbers isolated and ASCII digits cut into groups of three.
	PreDefault = "default"
)

// preTokenizer cuts text into pieces (substrings, in order, covering text
// exactly), appending them to dst.
type preTokenizer func(text string, dst []string) []string

// preTokenizers maps GGUF tokenizer.ggml.pre names to the split they mean,
// as llama.cpp reads them.
var preTokenizers = map[string]string{
	"llama3": PreLlama3, "llama-v3": PreLlama3, "llama-bpe": PreLlama3,
	"gpt2": PreGPT2, "gpt-2": PreGPT2,
	"default": PreDefault,
}

// canonicalPre returns the canonical name of a GGUF pre-tokenizer name and
// its split, or an error wrapping errs.ErrUnsupported.
func canonicalPre(name string) (string, preTokenizer, error) {
	c, ok := preTokenizers[name]
	if !ok {
		return "", nil, fmt.Errorf("pre-tokenizer %q: %w", name, errs.ErrUnsupported)
	}
	switch c {
	case PreLlama3:
		return c, splitLlama3, nil
	case PreGPT2:
		return c, splitGPT2, nil
	default:
		return c, splitDefault, nil
	}
}

// PreTokenize cuts text into the pieces that the named pre-tokenizer
// ("llama3", "gpt2", "default", or a GGUF alias such as "llama-bpe") gives
// BPE, before merging. The pieces cover text exactly. Invalid UTF-8 is not
// an error: each invalid byte counts as one character that is neither a
// letter, a number nor a space (as U+FFFD would).
func PreTokenize(name, text string) ([]string, error) {
	_, split, err := canonicalPre(name)
	if err != nil {
		return nil, err
	}
	return split(text, nil), nil
}

// Character classes of the split patterns. \s is the Unicode White_Space
// property, \p{L} and \p{N} the letter and number categories.
const (
	clsOther  = 0
	clsLetter = 1
	clsNumber = 2
	clsSpace  = 3
)

// asciiClass is the class of each ASCII byte.
var asciiClass = func() (t [128]uint8) {
	for c := range 128 {
		switch r := rune(c); {
		case unicode.IsLetter(r):
			t[c] = clsLetter
		case unicode.IsNumber(r):
			t[c] = clsNumber
		case unicode.IsSpace(r):
			t[c] = clsSpace
		}
	}
	return t
}()

// classOf returns the class of r.
func classOf(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r): // White_Space outside Latin-1 too
		return clsSpace
	}
	return clsOther
}

// runeAt decodes the character at byte offset i: its class, the rune and its
// size. An invalid byte is one character of class other (rune U+FFFD).
func runeAt(s string, i int) (uint8, rune, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n <= 1 {
		return clsOther, r, 1
	}
	return classOf(r), r, n
}

// scanClass returns the end of the run of characters of class cls that
// starts at i (i itself when none).
func scanClass(s string, i int, cls uint8) int {
	for i < len(s) {
		c, _, n := runeAt(s, i)
		if c != cls {
			break
		}
		i += n
	}
	return i
}

// scanSpaces returns the end of the whitespace run starting at i, the start
// of its last character, and the end of its last '\r' or '\n' (-1 if none).
func scanSpaces(s string, i int) (end, lastStart, lastNL int) {
	lastStart, lastNL = i, -1
	for i < len(s) {
		c, r, n := runeAt(s, i)
		if c != clsSpace {
			break
		}
		if r == '\r' || r == '\n' {
			lastNL = i + 1
		}
		lastStart = i
		i += n
	}
	return i, lastStart, lastNL
}

// spaceRunEnd applies `\s+(?!\S)|\s+` at a whitespace run from start to end:
// the run stops before its last character when a non-space follows and the
// run has more than one character.
func spaceRunEnd(s string, start, end, lastStart int) int {
	if end < len(s) && lastStart > start {
		return lastStart
	}
	return end
}

// lowerASCII folds an ASCII letter to lower case (other bytes unchanged).
func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// contraction returns the length of the English contraction ('s 't 're 've
// 'm 'll 'd) at i, 0 if none. foldCase makes it match as (?i) does in
// Oniguruma (Hugging Face tokenizers) and Rust's regex (tiktoken): ASCII
// upper case, and 'ſ' (U+017F, whose case folding is 's'). llama.cpp's
// rewrite of the pattern ('[sS]...) does not take 'ſ'.
func contraction(s string, i int, foldCase bool) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return 0
	}
	if foldCase && strings.HasPrefix(s[i+1:], "ſ") {
		return 1 + len("ſ")
	}
	c1 := s[i+1]
	if foldCase {
		c1 = lowerASCII(c1)
	}
	switch c1 {
	case 's', 't', 'm', 'd':
		return 2
	}
	if i+2 >= len(s) {
		return 0
	}
	c2 := s[i+2]
	if foldCase {
		c2 = lowerASCII(c2)
	}
	switch {
	case c1 == 'r' && c2 == 'e', c1 == 'v' && c2 == 'e', c1 == 'l' && c2 == 'l':
		return 3
	}
	return 0
}
