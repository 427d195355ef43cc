package tokenize

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/errs"
)

// SentencePiece-style BPE as Hugging Face tokenizer.json stores SentencePiece
// models (Llama-2's, for one): pieces are plain text with spaces written as
// "▁", merging starts from characters, and characters without a piece fall
// back to <0xNN> byte pieces (or UNK).

// PreMetaspace is Info.PreTokenizer of a SentencePiece-style BPE: spaces
// become "▁", and the text is not split.
const PreMetaspace = "metaspace"

// prependMode says when "▁" goes before a piece of text (the text between
// added tokens).
type prependMode uint8

const (
	prependNever prependMode = iota
	// prependAlways: before every non-empty piece (the Prepend normalizer).
	prependAlways
	// prependIfMissing: unless it starts with "▁" once spaces are replaced
	// (Metaspace with prepend_scheme "always").
	prependIfMissing
	// prependFirstIfMissing: the same, only for text at the start of the
	// input (Metaspace with prepend_scheme "first").
	prependFirstIfMissing
)

// charLevel configures a SentencePiece-style BPE.
type charLevel struct {
	prepend      prependMode
	byteFallback bool // characters without a piece become <0xNN> pieces
	fuseUnknown  bool // consecutive unknown characters become one UNK
}

// initCharLevel fills the decode texts and byte-fallback ids.
func (b *BPE) initCharLevel() {
	for i := range b.byteID {
		b.byteID[i] = -1
	}
	for i, tok := range b.tokens {
		switch typ := b.typeOf(i); typ {
		case TokenTypeNormal, TokenTypeUndefined, TokenTypeByte:
			if c, ok := parseByteToken(tok); ok && (b.v.chars.byteFallback || typ == TokenTypeByte) {
				b.text[i] = string([]byte{c})
				if b.byteID[c] < 0 && tok == byteTokenText(c) {
					b.byteID[c] = int32(i)
				}
				continue
			}
			b.text[i] = strings.ReplaceAll(tok, spaceSymbol, " ")
		case TokenTypeControl, TokenTypeUnknown, TokenTypeUserDefined:
			b.text[i] = tok
		}
	}
}

// encodeChars encodes one piece of text of a SentencePiece-style BPE;
// atStart tells whether it starts the input.
func (b *BPE) encodeChars(t string, atStart bool, out []int32, sc *mergeScratch) ([]int32, error) {
	if t == "" {
		return out, nil
	}
	cl := b.v.chars
	if cl.prepend == prependAlways {
		t = " " + t
	}
	t = strings.ReplaceAll(t, " ", spaceSymbol)
	if (cl.prepend == prependIfMissing || cl.prepend == prependFirstIfMissing && atStart) && !strings.HasPrefix(t, spaceSymbol) {
		t = spaceSymbol + t
	}
	if b.v.IgnoreMerges {
		if id, ok := b.ids[t]; ok {
			return append(out, id), nil
		}
	}
	ids := sc.ids[:0]
	lastUnk := false
	for i := 0; i < len(t); {
		_, n := utf8.DecodeRuneInString(t[i:]) // an invalid byte is a character of its own
		ch := t[i : i+n]
		i += n
		if id, ok := b.ids[ch]; ok {
			ids, lastUnk = append(ids, id), false
			continue
		}
		if cl.byteFallback && b.hasByteTokens(ch) {
			for k := 0; k < len(ch); k++ {
				ids = append(ids, b.byteID[ch[k]])
			}
			lastUnk = false
			continue
		}
		if b.v.UNK < 0 {
			return nil, fmt.Errorf("encode: %q has no piece and the vocabulary has no unknown token: %w", ch, errs.ErrTokenization)
		}
		if !(cl.fuseUnknown && lastUnk) {
			ids = append(ids, b.v.UNK)
		}
		lastUnk = true
	}
	sc.ids = ids
	return b.mergeIDs(ids, out, sc)
}

// hasByteTokens reports whether every byte of s has a <0xNN> piece.
func (b *BPE) hasByteTokens(s string) bool {
	for i := 0; i < len(s); i++ {
		if b.byteID[s[i]] < 0 {
			return false
		}
	}
	return true
}
