package tokenize

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// spaceSymbol is what SentencePiece writes for a space (U+2581).
const spaceSymbol = "\u2581"

// SPM is the SentencePiece-style tokenizer of llama.cpp (llm_tokenizer_spm):
// greedy merging of adjacent pieces by highest vocabulary score, with byte
// fallback for pieces that are not in the vocabulary.
type SPM struct {
	v       Vocab
	ids     map[string]int32 // piece -> id; the last of duplicate pieces wins
	text    []string         // what Decode writes for each id (special ones unskipped)
	special []int32          // control, unknown and user-defined ids, longest piece first
	byteTok [256]int32       // byte-fallback id per byte value, -1 when none
	meta
}

var _ Inspector = (*SPM)(nil)

// NewSPM builds the tokenizer from v after checking it (lengths agree, ids in
// range, types known); v's slices are copied. EOT and EOM are the first
// control or user-defined tokens among llama.cpp's end-of-turn names
// (<|eot_id|>, <|im_end|>, <end_of_turn>, ...) and <|eom_id|>, if any.
func NewSPM(v Vocab) (*SPM, error) {
	if err := v.validate(); err != nil {
		return nil, fmt.Errorf("spm vocabulary: %w", err)
	}
	v.Tokens = slices.Clone(v.Tokens)
	v.Scores = slices.Clone(v.Scores)
	v.Types = slices.Clone(v.Types)
	s := &SPM{v: v, ids: make(map[string]int32, len(v.Tokens)), text: make([]string, len(v.Tokens)), meta: newMeta()}
	for i, tok := range v.Tokens {
		s.ids[tok] = int32(i)
		switch typ := v.typeOf(i); typ {
		case TokenTypeNormal:
			s.text[i] = strings.ReplaceAll(tok, spaceSymbol, " ")
		case TokenTypeByte:
			b, _ := parseByteToken(tok) // checked by validate
			s.text[i] = string([]byte{b})
		case TokenTypeControl, TokenTypeUnknown, TokenTypeUserDefined:
			s.text[i] = tok
			if tok != "" {
				s.special = append(s.special, int32(i))
			}
		}
		// Unused and undefined tokens decode to nothing, as in llama.cpp.
	}
	slices.SortStableFunc(s.special, func(a, b int32) int {
		return cmp.Compare(len(v.Tokens[b]), len(v.Tokens[a]))
	})
	for b := range 256 {
		id, ok := s.ids[byteTokenText(byte(b))]
		if !ok {
			id, ok = s.ids[string([]byte{byte(b)})]
		}
		if !ok {
			id = v.UNK
		}
		s.byteTok[b] = id
	}
	s.eot = detectSpecial(s.ids, v.typeOf, eotNames)
	s.eom = detectSpecial(s.ids, v.typeOf, eomNames)
	return s, nil
}

// Kind returns "spm".
func (s *SPM) Kind() string { return "spm" }

// VocabSize is the number of tokens.
func (s *SPM) VocabSize() int { return len(s.v.Tokens) }

// BOS is the beginning-of-sequence id, -1 when none.
func (s *SPM) BOS() int32 { return s.v.BOS }

// EOS is the end-of-sequence id, -1 when none.
func (s *SPM) EOS() int32 { return s.v.EOS }

// UNK is the unknown-token id, -1 when none.
func (s *SPM) UNK() int32 { return s.v.UNK }

// PAD is the padding id, -1 when none.
func (s *SPM) PAD() int32 { return s.v.PAD }

// TokenToID returns the id of a piece as stored in the vocabulary (the last
// of duplicate pieces).
func (s *SPM) TokenToID(piece string) (int32, bool) {
	id, ok := s.ids[piece]
	return id, ok
}

// Info describes the tokenizer.
func (s *SPM) Info() Info {
	return s.info("spm", "", len(s.v.Tokens), s.v.BOS, s.v.EOS, s.v.PAD, s.v.UNK, s.DefaultEncodeOptions())
}

// DefaultEncodeOptions returns the vocabulary's add_bos/add_eos defaults.
func (s *SPM) DefaultEncodeOptions() EncodeOptions {
	return EncodeOptions{AddBOS: s.v.AddBOS && s.v.BOS >= 0, AddEOS: s.v.AddEOS && s.v.EOS >= 0}
}

// TokenType returns the type of id (TokenType* constants), or an error
// wrapping errs.ErrTokenization for an id out of range.
func (s *SPM) TokenType(id int32) (int32, error) {
	if err := s.check(id); err != nil {
		return 0, err
	}
	return s.v.typeOf(int(id)), nil
}

// IsControl reports whether id is a control token (type 3), BOS or EOS.
func (s *SPM) IsControl(id int32) bool {
	if id < 0 || int(id) >= len(s.v.Tokens) {
		return false
	}
	return id == s.v.BOS || id == s.v.EOS || s.v.typeOf(int(id)) == TokenTypeControl
}

// TokenToPiece returns the piece of id as stored in the vocabulary.
func (s *SPM) TokenToPiece(id int32) (string, error) {
	if err := s.check(id); err != nil {
		return "", err
	}
	return s.v.Tokens[id], nil
}

func (s *SPM) check(id int32) error {
	if id < 0 || int(id) >= len(s.v.Tokens) {
		return fmt.Errorf("token id %d out of range [0, %d): %w", id, len(s.v.Tokens), errs.ErrTokenization)
	}
	return nil
}

// Encode splits text into ids as llama.cpp's llama_tokenize does for an SPM
// vocabulary. The text is first cut at special-token texts (see
// EncodeOptions.ParseSpecial); each remaining piece of text gets a space
// prefix when AddSpacePrefix is set and it starts the input or follows a
// special token, has its spaces replaced by U+2581 and is merged greedily.
// Bytes that end up in no vocabulary piece become <0xNN> byte tokens (or the
// UNK token when the vocabulary has no byte token). Invalid UTF-8 in text is
// not an error: it is cut into symbols the way llama.cpp cuts it (a lead byte
// takes as many bytes as it announces) and goes through byte fallback.
// Empty text gives no tokens besides BOS/EOS. With RemoveExtraSpaces the
// text is first trimmed of spaces (U+0020) at both ends and its runs of
// spaces collapse to one, as SentencePiece's normalizer does.
func (s *SPM) Encode(text string, opts EncodeOptions) ([]int32, error) {
	if s.v.RemoveExtraSpaces {
		text = removeExtraSpaces(text)
	}
	out := make([]int32, 0, len(text)/3+2)
	if opts.AddBOS {
		if s.v.BOS < 0 {
			return nil, fmt.Errorf("encode: BOS requested but the vocabulary has none: %w", errs.ErrInvalidArgument)
		}
		out = append(out, s.v.BOS)
	}
	if text != "" {
		prevSpecial := true
		for _, f := range s.partition(text, opts.ParseSpecial) {
			if f.id >= 0 {
				out = append(out, f.id)
				prevSpecial = true
				continue
			}
			t := f.text
			if s.v.AddSpacePrefix && prevSpecial {
				t = " " + t
			}
			var err error
			if out, err = s.encodeText(strings.ReplaceAll(t, " ", spaceSymbol), out); err != nil {
				return nil, err
			}
			prevSpecial = false
		}
	}
	if opts.AddEOS {
		if s.v.EOS < 0 {
			return nil, fmt.Errorf("encode: EOS requested but the vocabulary has none: %w", errs.ErrInvalidArgument)
		}
		out = append(out, s.v.EOS)
	}
	return out, nil
}

// Decode concatenates the text of each id: U+2581 becomes a space, byte
// tokens their byte (invalid UTF-8 is kept as is), control and unknown tokens
// their piece unless SkipSpecial, unused tokens nothing. StripLeadingSpace
// removes the leading space of the first piece that has text (llama.cpp),
// and with RemoveExtraSpaces of every leading piece until one has text left
// (SentencePiece's decoder: "▁", "▁", "x" gives "x"); for a vocabulary read
// from a SentencePiece model, a byte piece first keeps its space, as there.
func (s *SPM) Decode(ids []int32, opts DecodeOptions) (string, error) {
	var b strings.Builder
	strip := opts.StripLeadingSpace
	for _, id := range ids {
		if err := s.check(id); err != nil {
			return "", fmt.Errorf("decode: %w", err)
		}
		if opts.SkipSpecial && s.isSpecial(id) {
			continue
		}
		p := s.text[id]
		if p == "" {
			continue
		}
		if strip {
			if s.source == SourceSentencePiece && s.v.typeOf(int(id)) == TokenTypeByte {
				strip = false // SentencePiece keeps byte pieces whole
			} else {
				p = strings.TrimPrefix(p, " ")
				if p == "" && s.v.RemoveExtraSpaces {
					continue // SentencePiece then strips until text is left
				}
				strip = false
			}
		}
		b.WriteString(p)
	}
	return b.String(), nil
}

// isSpecial reports whether Decode with SkipSpecial drops id.
func (s *SPM) isSpecial(id int32) bool {
	t := s.v.typeOf(int(id))
	return t == TokenTypeControl || t == TokenTypeUnknown || id == s.v.BOS || id == s.v.EOS
}

// fragment is a piece of the input: raw text (id < 0) or a special token.
type fragment struct {
	text string
	id   int32
}

// partition cuts text at the special-token texts, longest token first, as
// llama.cpp's tokenizer_st_partition does: user-defined tokens always,
// control and unknown tokens only when parseSpecial.
func (s *SPM) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{text: text, id: -1}}
	for _, id := range s.special {
		if !parseSpecial && s.v.typeOf(int(id)) != TokenTypeUserDefined {
			continue
		}
		tok := s.v.Tokens[id]
		var next []fragment
		for i, f := range frags {
			if f.id >= 0 || !strings.Contains(f.text, tok) {
				if next != nil {
					next = append(next, f)
				}
				continue
			}
			if next == nil {
				next = append(make([]fragment, 0, len(frags)+4), frags[:i]...)
			}
			rest := f.text
			for {
				k := strings.Index(rest, tok)
				if k < 0 {
					break
				}
				if k > 0 {
					next = append(next, fragment{text: rest[:k], id: -1})
				}
				next = append(next, fragment{id: id})
				rest = rest[k+len(tok):]
			}
			if rest != "" {
				next = append(next, fragment{text: rest, id: -1})
			}
		}
		if next != nil {
			frags = next
		}
	}
	return frags
}
