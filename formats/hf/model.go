package hf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/safetensors"
	"github.com/bitnet-dev/bitnet/formats/source"
)

// Options control Open.
type Options struct {
	// Scale says how weight_scale tensors enter the output (ScaleAuto:
	// as config.json's quantization_config says).
	Scale ScaleMode
}

// Model is an opened Hugging Face model folder.
type Model struct {
	// Dir is the folder holding config.json and the tokenizer files.
	Dir    string
	Config *Config
	Arch   Arch
	// Source is the model under GGUF names; closing it closes the
	// safetensors files.
	Source *source.Source
	// Weights are the safetensors files read.
	Weights []string
}

// Close releases the model's files.
func (m *Model) Close() error { return m.Source.Release() }

// TokenizerFiles are the tokenizer files a model folder may hold, in the
// order a loader looks for them.
var TokenizerFiles = []string{"tokenizer.json", "tokenizer.model"}

// HasTokenizer reports whether the folder holds a tokenizer file.
func (m *Model) HasTokenizer() bool {
	for _, n := range TokenizerFiles {
		if st, err := os.Stat(filepath.Join(m.Dir, n)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// IsModelPath reports whether path names something Open reads: a folder,
// a .safetensors file, an index file, or a file whose content is
// safetensors (an 8-byte header length followed by '{').
func IsModelPath(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if st.IsDir() {
		return true
	}
	if strings.HasSuffix(path, ".safetensors") || strings.HasSuffix(path, safetensors.IndexSuffix) {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [9]byte
	if n, _ := f.Read(head[:]); n < 9 || head[8] != '{' {
		return false
	}
	n := uint64(head[0]) | uint64(head[1])<<8 | uint64(head[2])<<16 | uint64(head[3])<<24 |
		uint64(head[4])<<32 | uint64(head[5])<<40 | uint64(head[6])<<48 | uint64(head[7])<<56
	return n >= 2 && n <= safetensors.MaxHeaderSize
}

// Open opens a model: a folder with config.json and its weights
// (model.safetensors.index.json and its shards, else model.safetensors,
// else every *.safetensors file), or one .safetensors (or index) file with
// config.json beside it.
func Open(path string, opts Options) (*Model, error) {
	dir, weights, err := findWeights(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	arch, err := cfg.Architecture()
	if err != nil {
		return nil, fmt.Errorf("hf: %s: %w", dir, err)
	}
	h, err := cfg.hyper(arch)
	if err != nil {
		return nil, fmt.Errorf("hf: %s: %w", dir, err)
	}
	var set *safetensors.Set
	if len(weights) == 1 && strings.HasSuffix(weights[0], safetensors.IndexSuffix) {
		set, err = safetensors.OpenIndex(weights[0])
		if err == nil {
			weights = set.Paths
		}
	} else {
		set, err = safetensors.OpenFiles(weights...)
	}
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	b := &builder{cfg: cfg, arch: arch, h: h, set: set, scale: cfg.scaleMode(opts.Scale)}
	src, err := b.build(modelName(cfg, dir))
	if err != nil {
		set.Close()
		return nil, fmt.Errorf("hf: %s: %w", dir, err)
	}
	return &Model{Dir: dir, Config: cfg, Arch: arch, Source: src, Weights: weights}, nil
}

// findWeights returns the model folder and the weight files to open (one
// index file, or safetensors files).
func findWeights(path string) (string, []string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", nil, fmt.Errorf("hf: %w", err)
	}
	if !st.IsDir() {
		return filepath.Dir(path), []string{path}, nil
	}
	for _, name := range []string{"model" + safetensors.IndexSuffix, "model.safetensors"} {
		p := filepath.Join(path, name)
		if _, err := os.Stat(p); err == nil {
			return path, []string{p}, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("hf: %w", err)
		}
	}
	matches, err := filepath.Glob(filepath.Join(path, "*.safetensors"))
	if err != nil {
		return "", nil, fmt.Errorf("hf: %w", err)
	}
	if len(matches) == 0 {
		if idx, _ := filepath.Glob(filepath.Join(path, "*"+safetensors.IndexSuffix)); len(idx) == 1 {
			return path, idx, nil
		}
		return "", nil, fmt.Errorf("hf: %s holds no safetensors weights (model.safetensors, an index, or *.safetensors): %w", path, errs.ErrModel)
	}
	sort.Strings(matches)
	return path, matches, nil
}

// modelName is general.name: the config's _name_or_path, else the folder
// name (a hub cache snapshot folder is named by its commit: then the
// repository name above it).
func modelName(c *Config, dir string) string {
	if c.NameOrPath != "" {
		return filepath.Base(c.NameOrPath)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Base(dir)
	}
	if filepath.Base(filepath.Dir(abs)) == "snapshots" {
		repo := filepath.Base(filepath.Dir(filepath.Dir(abs)))
		if i := strings.LastIndex(repo, "--"); i >= 0 {
			return repo[i+2:]
		}
	}
	return filepath.Base(abs)
}
