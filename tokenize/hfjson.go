package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// hfFile is the part of a Hugging Face tokenizer.json that matters here.
type hfFile struct {
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         hfModel         `json:"model"`
}

type hfAddedToken struct {
	ID      *int64 `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

type hfModel struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	ByteFallback            bool            `json:"byte_fallback"`
	FuseUnk                 bool            `json:"fuse_unk"`
	UnkToken                *string         `json:"unk_token"`
	Dropout                 *float64        `json:"dropout"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
}

// FromHFJSON reads a Hugging Face tokenizer.json, and tokenizer_config.json
// from the same folder when there is one (see ParseHFJSON; for a file named
// NAMEtokenizer.json, NAMEtokenizer_config.json is preferred). A
// chat_template.jinja in the folder supplies the chat template when the
// config has none.
func FromHFJSON(path string) (Tokenizer, error) {
	tj, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	dir := filepath.Dir(path)
	cj, err := readOptional(configPath(path))
	if err != nil {
		return nil, err
	}
	t, err := ParseHFJSON(tj, cj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if b, ok := t.(*BPE); ok && b.chatTemplate == "" {
		jinja, err := readOptional(filepath.Join(dir, "chat_template.jinja"))
		if err != nil {
			return nil, err
		}
		b.chatTemplate = string(jinja)
	}
	return t, nil
}

// configPath names the tokenizer_config.json that goes with a
// tokenizer.json: for "NAMEtokenizer.json" (e.g. llama3-tokenizer.json),
// "NAMEtokenizer_config.json" beside it when that exists, else
// tokenizer_config.json in the same folder.
func configPath(path string) string {
	dir, base := filepath.Split(path)
	if prefix, ok := strings.CutSuffix(base, "tokenizer.json"); ok && prefix != "" {
		p := filepath.Join(dir, prefix+"tokenizer_config.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(dir, "tokenizer_config.json")
}

// readOptional reads a file, nil when it does not exist.
func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return b, nil
}

// ParseHFJSON builds a tokenizer from the contents of a Hugging Face
// tokenizer.json and, optionally (nil or empty), its tokenizer_config.json.
//
// Supported: model BPE with the ByteLevel pre-tokenizer, alone (GPT-2's
// split) or after a Split by Llama-3's or GPT-2's pattern, no normalizer
// and the ByteLevel decoder; or model BPE as SentencePiece models are
// exported (Llama-2's tokenizer.json: the normalizer Prepend("▁") +
// Replace(" ", "▁"), or the Metaspace pre-tokenizer without split; merging
// from characters, byte_fallback, fuse_unk; Replace/ByteFallback/Fuse/Strip
// or Metaspace decoders, whose leading-space removal Decode does with
// StripLeadingSpace); added tokens (special ones are control tokens,
// matched only with ParseSpecial; others user-defined, always matched;
// their lstrip, rstrip, single_word and normalized flags are not applied).
// BOS/EOS come from the config's bos_token/eos_token, else from a
// TemplateProcessing (or Roberta/Bert) post-processor, else by name
// (<|begin_of_text|>, <s>, ... / <|end_of_text|>, </s>, ...). Encoding adds
// BOS/EOS by default when the post-processor does, or when the config's
// add_bos_token/add_eos_token say so (they win). The config's chat_template
// is kept. Anything else (Unigram or WordPiece models, other normalizers,
// pre-tokenizers or patterns, dropout, subword prefixes) gives an error
// wrapping errs.ErrUnsupported; malformed JSON or inconsistent tables give
// errs.ErrFormat.
func ParseHFJSON(tokenizerJSON, configJSON []byte) (Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %v: %w", err, errs.ErrFormat)
	}
	var cfg hfConfig
	if len(bytes.TrimSpace(configJSON)) > 0 {
		if err := json.Unmarshal(configJSON, &cfg); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: %v: %w", err, errs.ErrFormat)
		}
	}
	t, err := f.build(&cfg)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

// build makes the tokenizer.
func (f *hfFile) build(cfg *hfConfig) (*BPE, error) {
	m := &f.Model
	switch m.Type {
	case "BPE":
	case "":
		if m.Merges == nil {
			return nil, fmt.Errorf("model has no type and no merges: %w", errs.ErrUnsupported)
		}
	default:
		return nil, fmt.Errorf("model type %q (only BPE is supported): %w", m.Type, errs.ErrUnsupported)
	}
	switch {
	case m.Dropout != nil && *m.Dropout > 0:
		return nil, fmt.Errorf("BPE dropout %g: %w", *m.Dropout, errs.ErrUnsupported)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, fmt.Errorf("BPE continuing_subword_prefix %q: %w", *m.ContinuingSubwordPrefix, errs.ErrUnsupported)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, fmt.Errorf("BPE end_of_word_suffix %q: %w", *m.EndOfWordSuffix, errs.ErrUnsupported)
	}
	v := BPEVocab{IgnoreMerges: m.IgnoreMerges, BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1}
	var err error
	if v.chars, err = parseCharLevel(f); err != nil {
		return nil, err
	}
	if v.chars == nil {
		if !isJSONNull(f.Normalizer) {
			return nil, fmt.Errorf("normalizer %s: %w", describeJSON(f.Normalizer), errs.ErrUnsupported)
		}
		if v.PreTokenizer, v.AddPrefixSpace, err = parseHFPreTokenizer(f.PreTokenizer); err != nil {
			return nil, err
		}
		if err := checkHFDecoder(f.Decoder); err != nil {
			return nil, err
		}
	}
	if v.Tokens, v.Types, err = f.vocabulary(); err != nil {
		return nil, err
	}
	if v.Merges, err = parseHFMerges(m.Merges); err != nil {
		return nil, err
	}
	idx := indexTokens(v.Tokens)
	if m.UnkToken != nil {
		id, ok := idx[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("unk_token %q is not in the vocabulary: %w", *m.UnkToken, errs.ErrFormat)
		}
		v.UNK = id
	}
	post, err := parseHFPostProcessor(f.PostProcessor, idx)
	if err != nil {
		return nil, err
	}
	if err := cfg.apply(&v, post, idx); err != nil {
		return nil, err
	}
	tmpl, err := cfg.chatTemplate()
	if err != nil {
		return nil, err
	}
	b, err := NewBPE(v)
	if err != nil {
		return nil, err
	}
	b.source = SourceHFJSON
	b.chatTemplate = tmpl
	return b, nil
}

// vocabulary merges the model's vocab with the added tokens into one table
// indexed by id.
func (f *hfFile) vocabulary() ([]string, []int32, error) {
	var vocab map[string]int64
	if err := json.Unmarshal(f.Model.Vocab, &vocab); err != nil {
		return nil, nil, fmt.Errorf("model.vocab is not an object of piece ids: %v: %w", err, errs.ErrFormat)
	}
	n := int64(0)
	for tok, id := range vocab {
		if id < 0 || id >= 1<<31-1 {
			return nil, nil, fmt.Errorf("model.vocab: %q has id %d: %w", tok, id, errs.ErrFormat)
		}
		n = max(n, id+1)
	}
	for i, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 || *a.ID >= 1<<31-1 {
			return nil, nil, fmt.Errorf("added_tokens[%d] (%q) has no valid id: %w", i, a.Content, errs.ErrFormat)
		}
		if a.Content == "" {
			return nil, nil, fmt.Errorf("added_tokens[%d] is empty: %w", i, errs.ErrFormat)
		}
		n = max(n, *a.ID+1)
	}
	if n > int64(len(vocab)+len(f.AddedTokens)) {
		return nil, nil, fmt.Errorf("ids go up to %d but there are only %d pieces (holes in the id range): %w",
			n-1, len(vocab)+len(f.AddedTokens), errs.ErrFormat)
	}
	tokens := make([]string, n)
	types := make([]int32, n)
	seen := make([]bool, n)
	for tok, id := range vocab {
		if seen[id] {
			return nil, nil, fmt.Errorf("model.vocab: id %d used twice (%q, %q): %w", id, tokens[id], tok, errs.ErrFormat)
		}
		tokens[id], types[id], seen[id] = tok, TokenTypeNormal, true
	}
	for _, a := range f.AddedTokens {
		id := *a.ID
		if seen[id] && tokens[id] != a.Content {
			return nil, nil, fmt.Errorf("added token %q has id %d, which is %q in model.vocab: %w", a.Content, id, tokens[id], errs.ErrFormat)
		}
		tokens[id], seen[id] = a.Content, true
		types[id] = TokenTypeUserDefined
		if a.Special {
			types[id] = TokenTypeControl
		}
	}
	for id, ok := range seen {
		if !ok {
			return nil, nil, fmt.Errorf("no piece has id %d: %w", id, errs.ErrFormat)
		}
	}
	return tokens, types, nil
}

// parseHFMerges reads merges as "left right" strings or [left, right] pairs.
func parseHFMerges(raw json.RawMessage) ([][2]string, error) {
	if isJSONNull(raw) {
		return nil, nil
	}
	body := bytes.TrimSpace(raw)
	if len(body) > 0 && body[0] == '[' {
		body = bytes.TrimLeft(body[1:], " \t\r\n")
	}
	if len(body) > 0 && body[0] == '[' {
		var lists [][]string
		if err := json.Unmarshal(raw, &lists); err != nil {
			return nil, fmt.Errorf("model.merges is not a list of pairs of strings: %w", errs.ErrFormat)
		}
		pairs := make([][2]string, len(lists))
		for i, l := range lists {
			if len(l) != 2 {
				return nil, fmt.Errorf("model.merges[%d] has %d pieces, not 2: %w", i, len(l), errs.ErrFormat)
			}
			pairs[i] = [2]string{l[0], l[1]}
		}
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, fmt.Errorf("model.merges is neither strings nor pairs of strings: %w", errs.ErrFormat)
	}
	pairs := make([][2]string, len(lines))
	for i, l := range lines {
		a, b, ok := strings.Cut(l, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, fmt.Errorf("model.merges[%d] %q is not two pieces separated by one space: %w", i, l, errs.ErrFormat)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}

func isJSONNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// describeJSON names a component by its "type" for error messages.
func describeJSON(raw json.RawMessage) string {
	var x struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &x) == nil && x.Type != "" {
		return fmt.Sprintf("%q", x.Type)
	}
	s := string(bytes.TrimSpace(raw))
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
