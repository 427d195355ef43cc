package discovery

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// Model is what discovery knows about a model file.
type Model struct {
	// Path is the model file.
	Path string
	// Arch is the GGUF general.architecture ("" for other files).
	Arch string
	// Vocab is the model's vocabulary size (0 when unknown).
	Vocab int
	// VocabFrom says where Vocab came from: "token_embd.weight",
	// "<arch>.vocab_size", "tokenizer.ggml.tokens", "options" or "".
	VocabFrom string
	// Metadata is the GGUF metadata (nil for other files); the tokenizer
	// embedded in it is built from here.
	Metadata *gguf.Metadata
}

// InspectModel reads a model file's architecture and vocabulary size. A
// GGUF file is parsed (errors are returned); any other file (a llama2.c
// checkpoint, say) gives a Model with unknown architecture and vocabulary.
func InspectModel(path string) (Model, error) {
	m := Model{Path: path}
	if !gguf.IsGGUF(path) {
		return m, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return m, fmt.Errorf("tokenizer discovery: %w", err)
	}
	defer f.Close()
	return ModelFromGGUF(path, f), nil
}

// ModelFromGGUF describes a GGUF file the caller has open; path is where
// it was read from (co-located tokenizers are looked for next to it). The
// Model keeps f.Metadata, which stays valid after f is closed.
func ModelFromGGUF(path string, f *gguf.File) Model {
	m := Model{Path: path, Arch: f.Architecture(), Metadata: f.Metadata}
	m.Vocab, m.VocabFrom = modelVocab(f)
	return m
}

// modelVocab is the number of rows of the token embedding, else the
// architecture's vocab_size entry, else the length of the embedded token
// list.
func modelVocab(f *gguf.File) (int, string) {
	if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) >= 2 && t.Dims[1] > 0 && t.Dims[1] <= 1<<31 {
		return int(t.Dims[1]), "token_embd.weight"
	}
	key := f.Architecture() + ".vocab_size"
	if n, ok := f.Metadata.Uint(key); ok && n > 0 && n <= 1<<31 {
		return int(n), key
	}
	if v, ok := f.Metadata.Get(tokenize.KeyTokens); ok && v.Len() > 0 {
		return v.Len(), tokenize.KeyTokens
	}
	return 0, ""
}
