package tokenize

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
)

// Llama-3's vocabulary size and first special token: a GGUF vocabulary of
// this size holding this token and naming no pre-tokenizer (the official
// BitNet b1.58 2B-4T file) gets the Llama-3 rules.
const (
	llama3VocabSize = 128256
	llama3BOS       = "<|begin_of_text|>"
	llama3EOS       = "<|end_of_text|>"
)

// Names tried for BOS and EOS when a vocabulary does not give their ids.
var (
	bosNames = []string{llama3BOS, "<|startoftext|>", "<s>"}
	eosNames = []string{llama3EOS, "<|endoftext|>", "</s>"}
)

// bpeVocabFromGGUF reads a byte-level BPE vocabulary (tokenizer.ggml.model
// "gpt2"): tokens, token_type (optional), merges ("left right"), pre (the
// pre-tokenizer; unknown names give errs.ErrUnsupported; absent means
// llama.cpp's "default", or the Llama-3 rules for a 128256-token vocabulary
// with <|begin_of_text|>), and the special ids and flags. Llama-3 rules
// also mean ignore_merges and, unless the file says otherwise, add_bos.
// Absent BOS/EOS ids are looked up by name (<|begin_of_text|>, <s>, ... /
// <|end_of_text|>, </s>, ...); absent PAD and UNK are -1.
func bpeVocabFromGGUF(md *gguf.Metadata) (BPEVocab, error) {
	v := BPEVocab{BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1}
	tokens, ok := md.Strings(KeyTokens)
	if !ok {
		return v, fmt.Errorf("%s missing or not a string array: %w", KeyTokens, errs.ErrFormat)
	}
	v.Tokens = tokens
	if md.Has(KeyTokenType) {
		if v.Types, ok = md.Int32s(KeyTokenType); !ok {
			return v, fmt.Errorf("%s is not an int32 array: %w", KeyTokenType, errs.ErrFormat)
		}
	}
	merges, ok := md.Strings(KeyMerges)
	if !ok {
		return v, fmt.Errorf("%s missing or not a string array: %w", KeyMerges, errs.ErrFormat)
	}
	v.Merges = make([][2]string, len(merges))
	for i, m := range merges {
		var err error
		if v.Merges[i], err = splitMerge(m); err != nil {
			return v, fmt.Errorf("%s[%d]: %w", KeyMerges, i, err)
		}
	}
	pre, hasPre := md.String(KeyPre)
	switch {
	case md.Has(KeyPre) && !hasPre:
		return v, fmt.Errorf("%s is not a string: %w", KeyPre, errs.ErrFormat)
	case !hasPre && len(tokens) == llama3VocabSize && slices.Contains(tokens, llama3BOS):
		pre = PreLlama3
	case !hasPre:
		pre = PreDefault
	}
	canon, _, err := canonicalPre(pre)
	if err != nil {
		return v, err
	}
	v.PreTokenizer = canon
	v.IgnoreMerges = canon == PreLlama3
	n := len(tokens)
	ids := []struct {
		key string
		dst *int32
	}{{KeyBOS, &v.BOS}, {KeyEOS, &v.EOS}, {KeyUNK, &v.UNK}, {KeyPAD, &v.PAD}}
	for _, x := range ids {
		if *x.dst, err = readID(md, x.key, -1, n); err != nil {
			return v, err
		}
	}
	typeOf := func(i int) int32 {
		if v.Types == nil || i >= len(v.Types) {
			return TokenTypeNormal
		}
		return v.Types[i]
	}
	if !md.Has(KeyBOS) || !md.Has(KeyEOS) {
		idx := indexTokens(tokens)
		if !md.Has(KeyBOS) {
			v.BOS = detectSpecial(idx, typeOf, bosNames)
		}
		if !md.Has(KeyEOS) {
			v.EOS = detectSpecial(idx, typeOf, eosNames)
		}
	}
	flags := []struct {
		key string
		def bool
		dst *bool
	}{{KeyAddBOS, canon == PreLlama3, &v.AddBOS}, {KeyAddEOS, false, &v.AddEOS}}
	for _, x := range flags {
		if *x.dst, err = readBool(md, x.key, x.def); err != nil {
			return v, err
		}
	}
	return v, nil
}

// splitMerge cuts a GGUF merge "left right" at its first space after the
// first byte (llama.cpp's rule, so that a left piece may be a space).
func splitMerge(m string) ([2]string, error) {
	if len(m) >= 1 {
		if k := strings.IndexByte(m[1:], ' '); k >= 0 {
			return [2]string{m[:k+1], m[k+2:]}, nil
		}
	}
	return [2]string{}, fmt.Errorf("merge %q is not two pieces separated by a space: %w", m, errs.ErrFormat)
}

// indexTokens maps each piece to its first id.
func indexTokens(tokens []string) map[string]int32 {
	m := make(map[string]int32, len(tokens))
	for i, t := range tokens {
		if _, dup := m[t]; !dup {
			m[t] = int32(i)
		}
	}
	return m
}
