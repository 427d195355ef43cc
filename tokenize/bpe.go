package tokenize

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// BPEVocab describes a byte-level BPE vocabulary (GPT-2 style, as GGUF's
// tokenizer.ggml.model = "gpt2", Hugging Face's BPE model with the
// ByteLevel pre-tokenizer, and tiktoken rank files use).
type BPEVocab struct {
	// Tokens are the pieces, indexed by id. Ordinary pieces are written in
	// GPT-2's byte-level alphabet (a space is 'Ġ'); control and
	// user-defined pieces are plain text.
	Tokens []string
	// Types are the token types (TokenType* constants); nil means all
	// normal. Control tokens are matched in the text only with
	// EncodeOptions.ParseSpecial, user-defined tokens always.
	Types []int32
	// Merges are the pairs of pieces that merge, highest priority first.
	Merges [][2]string
	// PreTokenizer names the split applied before merging: "llama3",
	// "gpt2", "default", or one of llama.cpp's aliases ("llama-bpe", ...).
	PreTokenizer string
	// IgnoreMerges emits a pre-token that is itself a vocabulary piece
	// directly, without merging (Llama-3's "ignore_merges": true).
	IgnoreMerges bool
	// AddPrefixSpace prepends a space to each piece of text that does not
	// start with one (the add_prefix_space of Hugging Face's ByteLevel).
	AddPrefixSpace bool
	// BOS, EOS, EOT (end of turn), EOM (end of message), PAD and UNK are
	// special ids, -1 when absent; an absent EOT or EOM is looked up by
	// name among the control tokens (<|eot_id|>, <|im_end|>, ... and
	// <|eom_id|>).
	BOS, EOS, EOT, EOM, PAD, UNK int32
	// AddBOS and AddEOS are the vocabulary's default for encoding.
	AddBOS, AddEOS bool

	// mergeRankIsID ranks each merge by the id of the piece it makes
	// (tiktoken: merges that make the same piece rank equal, the leftmost
	// goes first) instead of by its place in Merges.
	mergeRankIsID bool
	// chars, when set, makes this a SentencePiece-style BPE over
	// characters instead of bytes (from tokenizer.json only).
	chars *charLevel
}

// BPE is a byte-level BPE tokenizer: the text is cut at added tokens, split
// by the pre-tokenizer, and each piece is turned into bytes that merge pair
// by pair, lowest merge rank first (leftmost on ties), as Hugging Face
// tokenizers and llama.cpp's llm_tokenizer_bpe do.
type BPE struct {
	tokens   []string
	types    []int32
	ids      map[string]int32  // piece -> id, every token
	raw      map[string]int32  // raw bytes -> id, ordinary tokens
	merges   map[uint64]uint64 // left<<32|right -> rank<<32|merged
	byteID   [256]int32        // id of each single byte, -1 when none
	text     []string          // what Decode writes per id
	pre      preTokenizer
	preName  string
	specials *specialMatcher
	v        BPEVocab // special ids and flags (slices dropped)
	meta
}

var _ Inspector = (*BPE)(nil)

// noMerge is the packed rank of a pair that does not merge.
const noMerge = math.MaxUint64

// NewBPE builds the tokenizer from v after checking it: lengths agree, ids
// in range, known token types and pre-tokenizer, and every merge names two
// pieces whose concatenation is a piece (errors wrap errs.ErrFormat, or
// errs.ErrUnsupported for an unknown pre-tokenizer). v's slices are not
// kept.
func NewBPE(v BPEVocab) (*BPE, error) {
	if err := validateBPE(&v); err != nil {
		return nil, fmt.Errorf("bpe vocabulary: %w", err)
	}
	preName, pre, err := PreMetaspace, preTokenizer(nil), error(nil)
	if v.chars == nil {
		if preName, pre, err = canonicalPre(v.PreTokenizer); err != nil {
			return nil, fmt.Errorf("bpe vocabulary: %w", err)
		}
	}
	n := len(v.Tokens)
	b := &BPE{
		tokens: slices.Clone(v.Tokens), types: slices.Clone(v.Types),
		ids: make(map[string]int32, n), raw: make(map[string]int32, n),
		text: make([]string, n), pre: pre, preName: preName, meta: newMeta(),
	}
	for i, tok := range b.tokens {
		if _, dup := b.ids[tok]; !dup {
			b.ids[tok] = int32(i)
		}
	}
	b.v = v
	if v.chars != nil {
		b.initCharLevel()
	} else {
		b.initByteLevel()
	}
	if b.merges, err = b.buildMerges(v.Merges, v.mergeRankIsID); err != nil {
		return nil, fmt.Errorf("bpe vocabulary: %w", err)
	}
	b.specials = newSpecialMatcher(b.tokens, b.typeOf)
	b.v.Tokens, b.v.Types, b.v.Merges = nil, nil, nil
	b.v.PreTokenizer = preName
	b.eot, b.eom = v.EOT, v.EOM
	if b.eot < 0 {
		b.eot = detectSpecial(b.ids, b.typeOf, eotNames)
	}
	if b.eom < 0 {
		b.eom = detectSpecial(b.ids, b.typeOf, eomNames)
	}
	return b, nil
}

// initByteLevel fills the decode texts, the raw-bytes index and the ids of
// single bytes of a byte-level vocabulary.
func (b *BPE) initByteLevel() {
	for i, tok := range b.tokens {
		switch typ := b.typeOf(i); typ {
		case TokenTypeNormal, TokenTypeUndefined:
			raw, ok := byteLevelDecode(tok)
			if !ok {
				b.text[i] = tok // not byte-level text: decodes as itself
				continue
			}
			b.text[i] = raw
			if _, dup := b.raw[raw]; !dup {
				b.raw[raw] = int32(i)
			}
		case TokenTypeByte:
			c, _ := parseByteToken(tok) // checked by validate
			b.text[i] = string([]byte{c})
		case TokenTypeControl, TokenTypeUnknown, TokenTypeUserDefined:
			b.text[i] = tok
		}
	}
	for c := range 256 {
		id, ok := b.raw[string([]byte{byte(c)})]
		if !ok {
			id = b.v.UNK
		}
		b.byteID[c] = id
	}
}

// validateBPE checks lengths, types and special ids.
func validateBPE(v *BPEVocab) error {
	sv := Vocab{Tokens: v.Tokens, Types: v.Types, BOS: v.BOS, EOS: v.EOS, UNK: v.UNK, PAD: v.PAD}
	if err := sv.validate(); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		id   int32
	}{{"EOT", v.EOT}, {"EOM", v.EOM}} {
		if s.id < -1 || int(s.id) >= len(v.Tokens) {
			return fmt.Errorf("%s id %d out of range [-1, %d): %w", s.name, s.id, len(v.Tokens), errs.ErrFormat)
		}
	}
	return nil
}

// buildMerges maps each merge pair of ids to its rank and merged id. A
// pair listed twice keeps its first (best) rank.
func (b *BPE) buildMerges(pairs [][2]string, rankIsID bool) (map[uint64]uint64, error) {
	m := make(map[uint64]uint64, len(pairs))
	for rank, p := range pairs {
		l, ok1 := b.ids[p[0]]
		r, ok2 := b.ids[p[1]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("merge %d (%q %q) names a piece that is not in the vocabulary: %w", rank, p[0], p[1], errs.ErrFormat)
		}
		merged, ok := b.ids[p[0]+p[1]]
		if !ok {
			return nil, fmt.Errorf("merge %d (%q %q): the merged piece is not in the vocabulary: %w", rank, p[0], p[1], errs.ErrFormat)
		}
		if rank >= math.MaxUint32 {
			return nil, fmt.Errorf("%d merges, more than ranks allow: %w", len(pairs), errs.ErrFormat)
		}
		k := pairKey(l, r)
		if _, dup := m[k]; dup {
			continue
		}
		rk := uint64(rank)
		if rankIsID {
			rk = uint64(merged)
		}
		m[k] = rk<<32 | uint64(uint32(merged))
	}
	return m, nil
}

func pairKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

// pairRank returns the packed rank<<32|merged id of the pair, noMerge when
// it does not merge.
func (b *BPE) pairRank(l, r int32) uint64 {
	if x, ok := b.merges[pairKey(l, r)]; ok {
		return x
	}
	return noMerge
}

func (b *BPE) typeOf(id int) int32 {
	if b.types == nil {
		return TokenTypeNormal
	}
	return b.types[id]
}

// Kind returns "bpe".
func (b *BPE) Kind() string { return "bpe" }

// VocabSize is the number of tokens.
func (b *BPE) VocabSize() int { return len(b.tokens) }

// BOS is the beginning-of-sequence id, -1 when none.
func (b *BPE) BOS() int32 { return b.v.BOS }

// EOS is the end-of-sequence id, -1 when none.
func (b *BPE) EOS() int32 { return b.v.EOS }

// PAD is the padding id, -1 when none.
func (b *BPE) PAD() int32 { return b.v.PAD }

// UNK is the unknown-token id, -1 when none.
func (b *BPE) UNK() int32 { return b.v.UNK }

// PreTokenizerName is the canonical name of the split ("llama3", "gpt2",
// "default").
func (b *BPE) PreTokenizerName() string { return b.preName }

// DefaultEncodeOptions returns the vocabulary's add_bos/add_eos defaults.
func (b *BPE) DefaultEncodeOptions() EncodeOptions {
	return EncodeOptions{AddBOS: b.v.AddBOS && b.v.BOS >= 0, AddEOS: b.v.AddEOS && b.v.EOS >= 0}
}

// TokenToID returns the id of a piece as stored in the vocabulary.
func (b *BPE) TokenToID(piece string) (int32, bool) {
	id, ok := b.ids[piece]
	return id, ok
}

// TokenType returns the type of id (TokenType* constants), or an error
// wrapping errs.ErrTokenization for an id out of range.
func (b *BPE) TokenType(id int32) (int32, error) {
	if err := b.check(id); err != nil {
		return 0, err
	}
	return b.typeOf(int(id)), nil
}

// IsControl reports whether id is a control token (type 3), BOS or EOS.
func (b *BPE) IsControl(id int32) bool {
	if id < 0 || int(id) >= len(b.tokens) {
		return false
	}
	return id == b.v.BOS || id == b.v.EOS || b.typeOf(int(id)) == TokenTypeControl
}

// TokenToPiece returns the piece of id as stored in the vocabulary (in the
// byte-level alphabet for ordinary tokens).
func (b *BPE) TokenToPiece(id int32) (string, error) {
	if err := b.check(id); err != nil {
		return "", err
	}
	return b.tokens[id], nil
}

// Info describes the tokenizer.
func (b *BPE) Info() Info {
	return b.info("bpe", b.preName, len(b.tokens), b.v.BOS, b.v.EOS, b.v.PAD, b.v.UNK, b.DefaultEncodeOptions())
}

func (b *BPE) check(id int32) error {
	if id < 0 || int(id) >= len(b.tokens) {
		return fmt.Errorf("token id %d out of range [0, %d): %w", id, len(b.tokens), errs.ErrTokenization)
	}
	return nil
}

// Decode concatenates the bytes of each id: ordinary tokens map their
// byte-level characters back to bytes (the result may hold invalid UTF-8
// where ids split a character; the bytes are kept as they are), control,
// unknown and user-defined tokens write their text (control and unknown ones
// not with SkipSpecial), unused tokens nothing. StripLeadingSpace removes
// the space that AddPrefixSpace (or a SentencePiece-style vocabulary's "▁")
// adds, and does nothing otherwise.
func (b *BPE) Decode(ids []int32, opts DecodeOptions) (string, error) {
	var sb strings.Builder
	strip := opts.StripLeadingSpace && (b.v.AddPrefixSpace || b.v.chars != nil && b.v.chars.prepend != prependNever)
	for _, id := range ids {
		if err := b.check(id); err != nil {
			return "", fmt.Errorf("decode: %w", err)
		}
		if opts.SkipSpecial && b.isSpecial(id) {
			continue
		}
		p := b.text[id]
		if p == "" {
			continue
		}
		if strip {
			p = strings.TrimPrefix(p, " ")
			strip = false
		}
		sb.WriteString(p)
	}
	return sb.String(), nil
}

// isSpecial reports whether Decode with SkipSpecial drops id.
func (b *BPE) isSpecial(id int32) bool {
	t := b.typeOf(int(id))
	return t == TokenTypeControl || t == TokenTypeUnknown || id == b.v.BOS || id == b.v.EOS
}
