package engine

import (
	"fmt"
	"time"

	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// isHFModel reports whether Load should read path as a Hugging Face model:
// a folder, a .safetensors (or index) file, or safetensors content.
func isHFModel(path string) bool { return hf.IsModelPath(path) }

// LoadHF loads a Hugging Face model folder (config.json, safetensors
// weights, tokenizer.json or tokenizer.model), or one .safetensors file
// with config.json beside it, with hfOpts choosing how weight_scale
// tensors are read (the zero value follows config.json). Load calls it for
// such paths.
func LoadHF(path string, opts Options, hfOpts hf.Options) (*Model, error) {
	start := time.Now()
	hm, err := hf.Open(path, hfOpts)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := FromSource(hm.Source, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if hm.HasTokenizer() {
		tok, err := tokenize.Load(hm.Dir)
		if err == nil {
			err = m.SetTokenizer(tok)
		}
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("load %s: tokenizer: %w", path, err)
		}
	}
	m.loadTime = time.Since(start)
	m.Info.Path = path
	return m, nil
}
