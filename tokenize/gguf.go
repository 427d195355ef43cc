package tokenize

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
)

// GGUF metadata keys of the tokenizer.
const (
	KeyModel          = "tokenizer.ggml.model"
	KeyTokens         = "tokenizer.ggml.tokens"
	KeyScores         = "tokenizer.ggml.scores"
	KeyTokenType      = "tokenizer.ggml.token_type"
	KeyBOS            = "tokenizer.ggml.bos_token_id"
	KeyEOS            = "tokenizer.ggml.eos_token_id"
	KeyUNK            = "tokenizer.ggml.unknown_token_id"
	KeyPAD            = "tokenizer.ggml.padding_token_id"
	KeyAddBOS         = "tokenizer.ggml.add_bos_token"
	KeyAddEOS         = "tokenizer.ggml.add_eos_token"
	KeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	KeyMerges         = "tokenizer.ggml.merges"
	KeyPre            = "tokenizer.ggml.pre"
	KeyEOT            = "tokenizer.ggml.eot_token_id"
	KeyEOM            = "tokenizer.ggml.eom_token_id"
	KeyChatTemplate   = "tokenizer.chat_template"
)

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.ggml.*
// metadata: model "llama" gives an SPM, model "gpt2" a byte-level BPE (see
// bpeVocabFromGGUF); other models give an error wrapping
// errs.ErrUnsupported. Missing or mistyped keys give errs.ErrFormat. Absent
// optional keys of an SPM vocabulary take llama.cpp's defaults: BOS 1, EOS 2,
// UNK 0, no PAD, add_bos true, add_eos false, add_space_prefix true. For
// both, tokenizer.ggml.eot_token_id / eom_token_id name EOT and EOM (else
// they are found by name), and tokenizer.chat_template is kept.
func FromGGUF(md *gguf.Metadata) (Tokenizer, error) {
	if md == nil {
		return nil, fmt.Errorf("tokenizer from gguf: no metadata: %w", errs.ErrInvalidArgument)
	}
	model, ok := md.String(KeyModel)
	if !ok {
		return nil, fmt.Errorf("tokenizer from gguf: %s missing or not a string: %w", KeyModel, errs.ErrFormat)
	}
	var (
		tok Inspector
		m   *meta
		err error
	)
	switch model {
	case "llama":
		var v Vocab
		if v, err = spmVocabFromGGUF(md); err == nil {
			var s *SPM
			if s, err = NewSPM(v); err == nil {
				tok, m = s, &s.meta
			}
		}
	case "gpt2":
		var v BPEVocab
		if v, err = bpeVocabFromGGUF(md); err == nil {
			var b *BPE
			if b, err = NewBPE(v); err == nil {
				tok, m = b, &b.meta
			}
		}
	default:
		return nil, fmt.Errorf("tokenizer from gguf: tokenizer model %q: %w", model, errs.ErrUnsupported)
	}
	if err == nil {
		err = ggufMeta(md, m, tok.VocabSize())
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer from gguf: %w", err)
	}
	return tok, nil
}

// ggufMeta reads the keys common to all models: explicit EOT/EOM ids and
// the chat template.
func ggufMeta(md *gguf.Metadata, m *meta, n int) error {
	m.source = SourceGGUF
	for _, x := range []struct {
		key string
		dst *int32
	}{{KeyEOT, &m.eot}, {KeyEOM, &m.eom}} {
		if !md.Has(x.key) {
			continue
		}
		id, err := readID(md, x.key, -1, n)
		if err != nil {
			return err
		}
		*x.dst = id
	}
	if md.Has(KeyChatTemplate) {
		t, ok := md.String(KeyChatTemplate)
		if !ok {
			return fmt.Errorf("%s is not a string: %w", KeyChatTemplate, errs.ErrFormat)
		}
		m.chatTemplate = t
	}
	return nil
}

// spmVocabFromGGUF reads the token table and settings of an SPM vocabulary.
func spmVocabFromGGUF(md *gguf.Metadata) (Vocab, error) {
	var v Vocab
	tokens, ok := md.Strings(KeyTokens)
	if !ok {
		return v, fmt.Errorf("%s missing or not a string array: %w", KeyTokens, errs.ErrFormat)
	}
	v.Tokens = tokens
	n := len(tokens)
	if md.Has(KeyScores) {
		if v.Scores, ok = md.Float32s(KeyScores); !ok {
			return v, fmt.Errorf("%s is not a numeric array: %w", KeyScores, errs.ErrFormat)
		}
	}
	if md.Has(KeyTokenType) {
		if v.Types, ok = md.Int32s(KeyTokenType); !ok {
			return v, fmt.Errorf("%s is not an int32 array: %w", KeyTokenType, errs.ErrFormat)
		}
	}
	var err error
	ids := []struct {
		key string
		def int32
		dst *int32
	}{{KeyBOS, 1, &v.BOS}, {KeyEOS, 2, &v.EOS}, {KeyUNK, 0, &v.UNK}, {KeyPAD, -1, &v.PAD}}
	for _, x := range ids {
		if *x.dst, err = readID(md, x.key, x.def, n); err != nil {
			return v, err
		}
	}
	flags := []struct {
		key string
		def bool
		dst *bool
	}{{KeyAddBOS, true, &v.AddBOS}, {KeyAddEOS, false, &v.AddEOS}, {KeyAddSpacePrefix, true, &v.AddSpacePrefix}}
	for _, x := range flags {
		if *x.dst, err = readBool(md, x.key, x.def); err != nil {
			return v, err
		}
	}
	return v, nil
}

// readID reads a special-token id. An absent key gives def (or -1 when def
// is not a valid id of an n-token vocabulary); a negative value means none.
// Out-of-range values are left for Vocab validation to reject.
func readID(md *gguf.Metadata, key string, def int32, n int) (int32, error) {
	val, ok := md.Get(key)
	if !ok {
		if int(def) >= n {
			return -1, nil
		}
		return def, nil
	}
	x, ok := val.Int()
	if !ok {
		return 0, fmt.Errorf("%s is not an integer: %w", key, errs.ErrFormat)
	}
	if x < 0 {
		return -1, nil
	}
	if x >= int64(n) {
		return 0, fmt.Errorf("%s = %d out of range for %d tokens: %w", key, x, n, errs.ErrFormat)
	}
	return int32(x), nil
}

// readBool reads a flag, def when absent.
func readBool(md *gguf.Metadata, key string, def bool) (bool, error) {
	if !md.Has(key) {
		return def, nil
	}
	b, ok := md.Bool(key)
	if !ok {
		return false, fmt.Errorf("%s is not a bool: %w", key, errs.ErrFormat)
	}
	return b, nil
}
