package tokenize

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// Encode splits text into ids. The text is cut at added tokens (see
// EncodeOptions.ParseSpecial; leftmost match first, longest among those
// starting at the same byte); each remaining piece of text is split by the
// pre-tokenizer and each pre-token is merged on its own.
//
// Invalid UTF-8 is not an error and has a defined result: for splitting,
// each invalid byte counts as one character that is neither a letter, a
// number nor a space; every byte, valid or not, then goes through BPE as
// itself, so Decode gives back exactly the input bytes. A byte without a
// token (only in vocabularies lacking some of the 256 byte pieces) becomes
// UNK, or an error wrapping errs.ErrTokenization when there is none.
func (b *BPE) Encode(text string, opts EncodeOptions) ([]int32, error) {
	out := make([]int32, 0, len(text)/4+2)
	if opts.AddBOS {
		if b.v.BOS < 0 {
			return nil, fmt.Errorf("encode: BOS requested but the vocabulary has none: %w", errs.ErrInvalidArgument)
		}
		out = append(out, b.v.BOS)
	}
	var sc mergeScratch
	var pieces []string
	var frags [1]fragment
	fs := b.specials.split(text, opts.ParseSpecial, frags[:0])
	for i, f := range fs {
		if f.id >= 0 {
			out = append(out, f.id)
			continue
		}
		if b.v.chars != nil {
			var err error
			if out, err = b.encodeChars(f.text, i == 0, out, &sc); err != nil {
				return nil, err
			}
			continue
		}
		t := f.text
		if b.v.AddPrefixSpace && t != "" && t[0] != ' ' {
			t = " " + t
		}
		pieces = b.pre(t, pieces[:0])
		var err error
		for _, p := range pieces {
			if out, err = b.encodeWord(p, out, &sc); err != nil {
				return nil, err
			}
		}
	}
	if opts.AddEOS {
		if b.v.EOS < 0 {
			return nil, fmt.Errorf("encode: EOS requested but the vocabulary has none: %w", errs.ErrInvalidArgument)
		}
		out = append(out, b.v.EOS)
	}
	return out, nil
}

// PreTokenize returns the pieces the pre-tokenizer cuts text into (the text
// is not searched for added tokens first, and AddPrefixSpace is not applied;
// a SentencePiece-style vocabulary does not split).
func (b *BPE) PreTokenize(text string) []string {
	if b.pre == nil {
		return []string{text}
	}
	return b.pre(text, nil)
}

// encodeWord appends the ids of one pre-token.
func (b *BPE) encodeWord(w string, out []int32, sc *mergeScratch) ([]int32, error) {
	if len(w) == 1 {
		id := b.byteID[w[0]]
		if id < 0 {
			return nil, noByteToken(w[0])
		}
		return append(out, id), nil
	}
	if b.v.IgnoreMerges {
		if id, ok := b.raw[w]; ok {
			return append(out, id), nil
		}
	}
	ids := sc.ids[:0]
	if len(w) > smallWord {
		ids = make([]int32, 0, len(w)) // not kept in the scratch space
	}
	for i := 0; i < len(w); i++ {
		id := b.byteID[w[i]]
		if id < 0 {
			return nil, noByteToken(w[i])
		}
		ids = append(ids, id)
	}
	if len(w) <= smallWord {
		sc.ids = ids
	}
	return b.mergeIDs(ids, out, sc)
}

func noByteToken(c byte) error {
	return fmt.Errorf("encode: byte 0x%02X has no token and the vocabulary has no unknown token: %w", c, errs.ErrTokenization)
}
