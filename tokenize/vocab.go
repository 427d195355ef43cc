package tokenize

import (
	"fmt"
	"math"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// Vocab is a token table as GGUF stores it (tokenizer.ggml.*).
type Vocab struct {
	// Tokens are the pieces, indexed by id.
	Tokens []string
	// Scores are the merge priorities (higher merges first); nil means all 0.
	Scores []float32
	// Types are the token types (TokenType* constants); nil means all normal.
	Types []int32
	// BOS, EOS, UNK and PAD are special ids, -1 when absent.
	BOS, EOS, UNK, PAD int32
	// AddBOS and AddEOS are the vocabulary's default for encoding.
	AddBOS, AddEOS bool
	// AddSpacePrefix prepends a space to the text before encoding (and to
	// every text that follows a special token).
	AddSpacePrefix bool
	// RemoveExtraSpaces trims spaces at both ends of the text and collapses
	// runs of spaces before encoding (SentencePiece's
	// remove_extra_whitespaces; trailing U+2581 characters go too).
	RemoveExtraSpaces bool
}

// removeExtraSpaces is SentencePiece's remove_extra_whitespaces: leading
// spaces (U+0020) go, each run of spaces collapses to one, and trailing
// spaces go together with trailing U+2581 characters (SentencePiece trims
// the text after escaping spaces to U+2581, so it cannot tell them apart).
func removeExtraSpaces(text string) string {
	text = strings.TrimLeft(text, " ")
	if strings.Contains(text, "  ") {
		var b strings.Builder
		b.Grow(len(text))
		for i := 0; i < len(text); i++ {
			if text[i] == ' ' && i > 0 && text[i-1] == ' ' {
				continue
			}
			b.WriteByte(text[i])
		}
		text = b.String()
	}
	for {
		t := strings.TrimSuffix(strings.TrimRight(text, " "), spaceSymbol)
		if t == text {
			return text
		}
		text = t
	}
}

// validate checks the table's consistency.
func (v *Vocab) validate() error {
	n := len(v.Tokens)
	if n == 0 {
		return fmt.Errorf("vocabulary has no tokens: %w", errs.ErrFormat)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("vocabulary has %d tokens, more than int32 ids allow: %w", n, errs.ErrFormat)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return fmt.Errorf("vocabulary has %d tokens but %d scores: %w", n, len(v.Scores), errs.ErrFormat)
	}
	if v.Types != nil && len(v.Types) != n {
		return fmt.Errorf("vocabulary has %d tokens but %d token types: %w", n, len(v.Types), errs.ErrFormat)
	}
	for i, s := range v.Scores {
		if math.IsNaN(float64(s)) {
			return fmt.Errorf("token %d: score is NaN: %w", i, errs.ErrFormat)
		}
	}
	for i, t := range v.Types {
		if t < TokenTypeUndefined || t > TokenTypeByte {
			return fmt.Errorf("token %d: unknown token type %d: %w", i, t, errs.ErrFormat)
		}
		if t == TokenTypeByte {
			if _, ok := parseByteToken(v.Tokens[i]); !ok {
				return fmt.Errorf("token %d: byte token %q is not of the form <0xNN>: %w", i, v.Tokens[i], errs.ErrFormat)
			}
		}
	}
	for _, s := range []struct {
		name string
		id   int32
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"UNK", v.UNK}, {"PAD", v.PAD}} {
		if s.id < -1 || int(s.id) >= n {
			return fmt.Errorf("%s id %d out of range [-1, %d): %w", s.name, s.id, n, errs.ErrFormat)
		}
	}
	return nil
}

// typeOf returns the type of token id (normal when the table has none).
func (v *Vocab) typeOf(id int) int32 {
	if v.Types == nil {
		return TokenTypeNormal
	}
	return v.Types[id]
}

// scoreOf returns the score of token id (0 when the table has none).
func (v *Vocab) scoreOf(id int) float32 {
	if v.Scores == nil {
		return 0
	}
	return v.Scores[id]
}

// parseByteToken reads a piece of the form "<0xNN>" (hex digits of either
// case, as llama.cpp's strtol accepts).
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(s[3])
	lo, ok2 := hexDigit(s[4])
	if !ok1 || !ok2 {
		return 0, false
	}
	return hi<<4 | lo, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// byteTokenText is the piece llama.cpp looks up for byte fallback.
func byteTokenText(b byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})
}
