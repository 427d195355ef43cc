package tokenize

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"

	"github.com/bitnet-dev/bitnet/errs"
)

// llama3SpecialCount is the number of special tokens Llama-3 appends to its
// 128000 ranks.
const (
	llama3Ranks        = 128000
	llama3SpecialCount = 256
)

// Llama3Specials returns Llama-3's special tokens and their ids (128000 to
// 128255): <|begin_of_text|>, <|end_of_text|>, <|start_header_id|>,
// <|end_header_id|>, <|eot_id|> and <|reserved_special_token_N|> for the
// rest, as Meta's tokenizer (and BitNet b1.58 2B-4T) names them.
func Llama3Specials() map[string]int32 {
	named := map[int32]string{0: llama3BOS, 1: llama3EOS, 6: "<|start_header_id|>", 7: "<|end_header_id|>", 9: "<|eot_id|>"}
	m := make(map[string]int32, llama3SpecialCount)
	reserved := 0
	for i := int32(0); i < llama3SpecialCount; i++ {
		name, ok := named[i]
		if !ok {
			name = fmt.Sprintf("<|reserved_special_token_%d|>", reserved)
			reserved++
		}
		m[name] = llama3Ranks + i
	}
	return m
}

// FromTiktoken reads a tiktoken rank file (one "base64-token rank" per
// line, ranks 0..n-1 without holes) as a byte-level BPE with the Llama-3
// split: a token's rank is its id, and two adjacent parts merge when their
// concatenation is a token, lowest rank first (tiktoken's rule). specials
// are added as control tokens with their ids (which must fill the ids after
// the ranks without holes); nil means Llama-3's specials when the file has
// exactly 128000 ranks, none otherwise. BOS and EOS are found by name
// (<|begin_of_text|>, <|end_of_text|>, ...); BOS is added by default.
func FromTiktoken(path string, specials map[string]int32) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tiktoken: %w", err)
	}
	t, err := parseTiktoken(data, specials)
	if err != nil {
		return nil, fmt.Errorf("tiktoken %s: %w", path, err)
	}
	return t, nil
}

// parseTiktoken builds the tokenizer from a rank file's contents.
func parseTiktoken(data []byte, specials map[string]int32) (*BPE, error) {
	ranks, err := readRanks(data)
	if err != nil {
		return nil, err
	}
	if specials == nil && len(ranks) == llama3Ranks {
		specials = Llama3Specials()
	}
	n := len(ranks)
	for _, id := range specials {
		if id < 0 {
			return nil, fmt.Errorf("special token id %d is negative: %w", id, errs.ErrInvalidArgument)
		}
		n = max(n, int(id)+1)
	}
	if n != len(ranks)+len(specials) {
		return nil, fmt.Errorf("%d ranks and %d special tokens leave holes or overlap in ids 0..%d: %w",
			len(ranks), len(specials), n-1, errs.ErrInvalidArgument)
	}
	v := BPEVocab{Tokens: make([]string, n), Types: make([]int32, n), PreTokenizer: PreLlama3,
		IgnoreMerges: true, BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1, mergeRankIsID: true}
	for id, raw := range ranks {
		v.Tokens[id], v.Types[id] = byteLevelEncode(raw), TokenTypeNormal
	}
	for name, id := range specials {
		if v.Types[id] != TokenTypeUndefined {
			return nil, fmt.Errorf("special token %q has id %d, which is taken: %w", name, id, errs.ErrInvalidArgument)
		}
		if name == "" {
			return nil, fmt.Errorf("empty special token: %w", errs.ErrInvalidArgument)
		}
		v.Tokens[id], v.Types[id] = name, TokenTypeControl
	}
	v.Merges = impliedMerges(ranks)
	idx := indexTokens(v.Tokens)
	v.BOS = detectSpecial(idx, func(i int) int32 { return v.Types[i] }, bosNames)
	v.EOS = detectSpecial(idx, func(i int) int32 { return v.Types[i] }, eosNames)
	v.AddBOS = v.BOS >= 0
	b, err := NewBPE(v)
	if err != nil {
		return nil, err
	}
	b.source = SourceTiktoken
	return b, nil
}

// readRanks parses the lines "base64 rank" into the token bytes by rank.
func readRanks(data []byte) ([]string, error) {
	var ranks []string
	seen := map[string]bool{}
	for lineNo, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		tok, num, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			return nil, fmt.Errorf("line %d: not \"base64 rank\": %w", lineNo+1, errs.ErrFormat)
		}
		raw, err := base64.StdEncoding.DecodeString(string(tok))
		if err != nil || len(raw) == 0 {
			return nil, fmt.Errorf("line %d: bad base64 token %q: %w", lineNo+1, tok, errs.ErrFormat)
		}
		rank, err := strconv.Atoi(string(num))
		if err != nil || rank != len(ranks) {
			return nil, fmt.Errorf("line %d: rank %q, want %d (ranks in order, without holes): %w", lineNo+1, num, len(ranks), errs.ErrFormat)
		}
		if seen[string(raw)] {
			return nil, fmt.Errorf("line %d: token %q listed twice: %w", lineNo+1, raw, errs.ErrFormat)
		}
		seen[string(raw)] = true
		ranks = append(ranks, string(raw))
	}
	if len(ranks) == 0 {
		return nil, fmt.Errorf("no ranks: %w", errs.ErrFormat)
	}
	return ranks, nil
}

// impliedMerges lists, for each token in rank order, every split into two
// tokens (in the byte-level alphabet): the merges that tiktoken's rule
// allows.
func impliedMerges(ranks []string) [][2]string {
	has := make(map[string]bool, len(ranks))
	for _, r := range ranks {
		has[r] = true
	}
	var pairs [][2]string
	for _, tok := range ranks {
		for i := 1; i < len(tok); i++ {
			if has[tok[:i]] && has[tok[i:]] {
				pairs = append(pairs, [2]string{byteLevelEncode(tok[:i]), byteLevelEncode(tok[i:])})
			}
		}
	}
	return pairs
}
