package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/sentencepiece"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// tokenTypeUnused is GGUF's token type of padding entries.
const tokenTypeUnused = 5

// addFolderVocab embeds the tokenizer of a Hugging Face folder: a
// SentencePiece tokenizer.model when there is one, else a byte-level BPE
// tokenizer.json. A vocabulary shorter than the model's (vocab > 0) is
// padded with unused "[PAD<id>]" tokens, as llama.cpp's converter does. A
// folder without a usable tokenizer embeds none.
func addFolderVocab(w *gguf.Writer, dir string, vocab int) error {
	spm := filepath.Join(dir, "tokenizer.model")
	if _, err := os.Stat(spm); err == nil {
		return addSentencePiece(w, spm, vocab)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tokenizer: %w", err)
	}
	js := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(js); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	t, err := tokenize.FromHFJSON(js)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	bpe, ok := t.(*tokenize.BPE)
	if !ok || bpe.PreTokenizerName() == tokenize.PreMetaspace {
		// A SentencePiece model exported to JSON: without tokenizer.model
		// its scores are not at hand; nothing is embedded.
		return nil
	}
	return addBPE(w, bpe, js, vocab)
}

func addSentencePiece(w *gguf.Writer, path string, vocab int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	sp, err := sentencepiece.Parse(b)
	if err != nil {
		return fmt.Errorf("tokenizer %s: %w", path, err)
	}
	tokens, scores, types := sp.Pieces, sp.Scores, sp.Types
	if vocab > 0 && len(tokens) > vocab {
		return fmt.Errorf("tokenizer %s has %d pieces, the model %d: %w", path, len(tokens), vocab, errs.ErrModel)
	}
	for i := len(tokens); i < vocab; i++ {
		tokens = append(tokens, fmt.Sprintf("[PAD%d]", i))
		scores = append(scores, -1000)
		types = append(types, tokenTypeUnused)
	}
	return setTokenizer(w, tokens, scores, types, int32(sp.BOSID), int32(sp.EOSID), int32(sp.UnkID))
}

// hfMerges is the merges list of tokenizer.json: "left right" strings or
// [left, right] pairs.
type hfMerges struct {
	Model struct {
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
}

func readMerges(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var f hfMerges
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %v: %w", path, err, errs.ErrFormat)
	}
	out := make([]string, len(f.Model.Merges))
	for i, raw := range f.Model.Merges {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out[i] = s
			continue
		}
		var pair []string
		if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 || strings.Contains(pair[0], " ") || strings.Contains(pair[1], " ") {
			return nil, fmt.Errorf("tokenizer %s: merge %d is not \"a b\" or [a, b] without spaces: %w", path, i, errs.ErrFormat)
		}
		out[i] = pair[0] + " " + pair[1]
	}
	return out, nil
}

// ggufPre is llama.cpp's name of a pre-tokenizer.
func ggufPre(name string) string {
	switch name {
	case tokenize.PreLlama3:
		return "llama-bpe"
	case tokenize.PreGPT2:
		return "gpt-2"
	}
	return name
}

func addBPE(w *gguf.Writer, t *tokenize.BPE, path string, vocab int) error {
	n := t.VocabSize()
	if vocab > 0 && n > vocab {
		return fmt.Errorf("tokenizer %s has %d tokens, the model %d: %w", path, n, vocab, errs.ErrModel)
	}
	tokens := make([]string, 0, max(n, vocab))
	types := make([]int32, 0, max(n, vocab))
	for id := range n {
		p, err := t.TokenToPiece(int32(id))
		if err != nil {
			return fmt.Errorf("tokenizer %s: %w", path, err)
		}
		ty, err := t.TokenType(int32(id))
		if err != nil {
			return fmt.Errorf("tokenizer %s: %w", path, err)
		}
		tokens = append(tokens, p)
		types = append(types, ty)
	}
	for i := n; i < vocab; i++ {
		tokens = append(tokens, fmt.Sprintf("[PAD%d]", i))
		types = append(types, tokenTypeUnused)
	}
	merges, err := readMerges(path)
	if err != nil {
		return err
	}
	def := t.DefaultEncodeOptions()
	kvs := []struct {
		k string
		v any
	}{
		{tokenize.KeyModel, "gpt2"},
		{tokenize.KeyPre, ggufPre(t.PreTokenizerName())},
		{tokenize.KeyTokens, tokens},
		{tokenize.KeyTokenType, types},
		{tokenize.KeyMerges, merges},
		{tokenize.KeyAddBOS, def.AddBOS},
		{tokenize.KeyAddEOS, def.AddEOS},
	}
	for _, id := range []struct {
		k string
		v int32
	}{{tokenize.KeyBOS, t.BOS()}, {tokenize.KeyEOS, t.EOS()}, {tokenize.KeyPAD, t.PAD()}, {tokenize.KeyUNK, t.UNK()}} {
		if id.v >= 0 {
			kvs = append(kvs, struct {
				k string
				v any
			}{id.k, uint32(id.v)})
		}
	}
	if ct := t.ChatTemplate(); ct != "" {
		kvs = append(kvs, struct {
			k string
			v any
		}{tokenize.KeyChatTemplate, ct})
	}
	for _, kv := range kvs {
		if err := w.Set(kv.k, kv.v); err != nil {
			return err
		}
	}
	return nil
}
