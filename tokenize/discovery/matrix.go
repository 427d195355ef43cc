package discovery

import "slices"

// Compat is one row of the compatibility matrix: models of these
// architectures with one of these vocabulary sizes use the tokenizer File
// of hub repository Repo. It is the seed API's TokenizerDownloadInfo plus
// the match condition of its ModelCompatibilityMatrix.
type Compat struct {
	// Name labels the row in decisions and errors ("llama3-128k").
	Name string
	// Archs are GGUF general.architecture values; empty matches any.
	Archs []string
	// Vocabs are the model vocabulary sizes (embedding rows) matched.
	Vocabs []int
	// Repo, Revision ("" is "main") and File name the tokenizer on the hub.
	Repo, Revision, File string
	// Companions are files fetched next to File when it is downloaded, if
	// the repository has them (tokenizer_config.json: special tokens and
	// the chat template of a tokenizer.json).
	Companions []string
}

// DefaultMatrix returns the built-in rows (a fresh slice the caller may
// change and pass as Options.Matrix). Rows are tried in order; the first
// match wins.
//
//   - bitnet-b1.58-2b: Microsoft's BitNet b1.58 2B4T (GGUF architecture
//     "bitnet-b1.58" in Microsoft's fork, "bitnet" in llama.cpp), a
//     LLaMA 3 vocabulary of 128256, tokenizer.json.
//   - llama3-128k: LLaMA 3 shaped models with ternary weights (e.g.
//     HF1BitLLM/Llama3-8B-1.58-100B-tokens), tokenizer.json.
//   - llama2-32k: LLaMA 2 vocabulary of 32000 (32002 with the pad tokens
//     the 1bitLLM BitNet b1.58 reproductions add), SentencePiece
//     tokenizer.model.
func DefaultMatrix() []Compat {
	return []Compat{
		{
			Name:       "bitnet-b1.58-2b",
			Archs:      []string{"bitnet-b1.58", "bitnet"},
			Vocabs:     []int{128256},
			Repo:       "microsoft/bitnet-b1.58-2B-4T",
			File:       "tokenizer.json",
			Companions: []string{"tokenizer_config.json"},
		},
		{
			Name:       "llama3-128k",
			Archs:      []string{"llama"},
			Vocabs:     []int{128256},
			Repo:       "HF1BitLLM/Llama3-8B-1.58-100B-tokens",
			File:       "tokenizer.json",
			Companions: []string{"tokenizer_config.json"},
		},
		{
			Name:   "llama2-32k",
			Archs:  []string{"llama", "bitnet"},
			Vocabs: []int{32000, 32002},
			Repo:   "1bitLLM/bitnet_b1_58-large",
			File:   "tokenizer.model",
		},
	}
}

// Match returns the first row of matrix that fits a model of architecture
// arch and vocabulary size vocab.
func Match(matrix []Compat, arch string, vocab int) (Compat, bool) {
	for _, c := range matrix {
		if (len(c.Archs) == 0 || slices.Contains(c.Archs, arch)) && slices.Contains(c.Vocabs, vocab) {
			return c, true
		}
	}
	return Compat{}, false
}
