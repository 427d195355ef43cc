package hf

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/safetensors"
)

// Selection is what loading a model needs from a repository's files.
type Selection struct {
	// GGUF is the GGUF file to load; "" when the model is a safetensors
	// checkpoint.
	GGUF string
	// Files are the files of a safetensors checkpoint: config.json, the
	// weights (or the index), and the tokenizer files present.
	Files []string
	// Index is the index file among Files when the weights are sharded;
	// its shards are named inside it.
	Index string
}

// OptionalFiles are the files fetched with a safetensors checkpoint when
// the repository has them.
var OptionalFiles = []string{"tokenizer.json", "tokenizer_config.json", "tokenizer.model",
	"special_tokens_map.json", "generation_config.json"}

// splitGGUF matches the parts of a GGUF split in several files, which the
// engine does not load.
var splitGGUF = regexp.MustCompile(`-\d{5}-of-\d{5}\.gguf$`)

// ggufPreference ranks GGUF files by the weight type their name mentions:
// the ternary types first.
var ggufPreference = []string{"i2_s", "tq2_0", "tq1_0", "tl1", "tl2", "q8_0", "f16", "bf16", "f32"}

func ggufRank(name string) int {
	lower := strings.ToLower(name)
	for i, k := range ggufPreference {
		if strings.Contains(lower, k) {
			return i
		}
	}
	return len(ggufPreference)
}

// Select chooses from a repository's file list: a GGUF file when there is
// one (top-level, not a split part; the ternary types first, then by
// name), else config.json with model.safetensors.index.json,
// model.safetensors or every top-level *.safetensors file, and the
// tokenizer files present.
func Select(files []string) (Selection, error) {
	var ggufs []string
	has := map[string]bool{}
	var weights []string
	for _, f := range files {
		has[f] = true
		if strings.Contains(f, "/") {
			continue
		}
		if strings.HasSuffix(strings.ToLower(f), ".gguf") && !splitGGUF.MatchString(f) {
			ggufs = append(ggufs, f)
		}
		if strings.HasSuffix(f, ".safetensors") {
			weights = append(weights, f)
		}
	}
	if len(ggufs) > 0 {
		sort.SliceStable(ggufs, func(i, j int) bool {
			ri, rj := ggufRank(ggufs[i]), ggufRank(ggufs[j])
			if ri != rj {
				return ri < rj
			}
			return ggufs[i] < ggufs[j]
		})
		return Selection{GGUF: ggufs[0]}, nil
	}
	if !has[ConfigFile] {
		return Selection{}, fmt.Errorf("the repository has neither a GGUF file nor %s (files: %s): %w", ConfigFile, summarize(files), errs.ErrModel)
	}
	sel := Selection{Files: []string{ConfigFile}}
	switch idx := "model" + safetensors.IndexSuffix; {
	case has[idx]:
		sel.Files = append(sel.Files, idx)
		sel.Index = idx
	case has["model.safetensors"]:
		sel.Files = append(sel.Files, "model.safetensors")
	case len(weights) > 0:
		sort.Strings(weights)
		sel.Files = append(sel.Files, weights...)
	default:
		return Selection{}, fmt.Errorf("the repository has %s but no safetensors weights (files: %s): %w", ConfigFile, summarize(files), errs.ErrModel)
	}
	for _, f := range OptionalFiles {
		if has[f] && !slices.Contains(sel.Files, f) {
			sel.Files = append(sel.Files, f)
		}
	}
	return sel, nil
}

// summarize lists up to 10 names.
func summarize(files []string) string {
	if len(files) == 0 {
		return "none"
	}
	if len(files) > 10 {
		return strings.Join(files[:10], ", ") + fmt.Sprintf(", ... (%d in all)", len(files))
	}
	return strings.Join(files, ", ")
}
