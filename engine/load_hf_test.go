package engine_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/hf/hftest"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
)

// hfFolder writes a llama2.c model from the shared assets as a Hugging Face
// folder.
func hfFolder(t *testing.T, model string, v hftest.Variant) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hf")
	if err := hftest.WriteLlama2c(dir, testassets.Path(t, model), testassets.Path(t, "models/tok512.model"), v); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadPath(t *testing.T, path string) *engine.Model {
	t.Helper()
	m, err := engine.Load(path, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// agreeing counts the leading tokens two runs share.
func agreeing(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func TestHFLlamaFolderOfStories260KReproducesLlama2cReference(t *testing.T) {
	dir := hfFolder(t, "models/stories260K.bin", hftest.Variant{Arch: "LlamaForCausalLM"})
	m := loadPath(t, dir)
	if m.Hyper.Arch != "llama" {
		t.Fatalf("architecture %s", m.Hyper.Arch)
	}
	_, text := greedy(t, m, goldenSteps)
	checkText(t, text+"\n", golden(t, "stories260K.runc.greedy.txt"))
}

func TestHFBitNetFoldersOfBitllama2cReproduceTernaryReference(t *testing.T) {
	want := golden(t, "bitllama2c-3M.runbit.greedy.txt")
	cases := map[string]hftest.Variant{
		"BitNetForCausalLM-f32":               {Arch: "BitNetForCausalLM", Weights: "f32"},
		"BitNetForCausalLM-packed-autobitlin": {Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear"},
		"BitNetForCausalLM-packed-sharded":    {Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear", Shards: 3},
		"BitnetForCausalLM-1bitLLM-names-f32": {Arch: "BitnetForCausalLM", Weights: "f32"},
		"BitNetForCausalLM-packed-bitlinear":  {Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "bitlinear"},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			m := loadPath(t, hfFolder(t, "models/bitllama2c-3M.bin", v))
			if m.Hyper.Arch != "bitnet" || m.Hyper.Eps != 0 || m.Hyper.OutputEps != 1e-5 {
				t.Fatalf("hyper %+v", m.Hyper)
			}
			_, text := greedy(t, m, goldenSteps)
			checkText(t, text+"\n", want)
		})
	}
}

// The numeric test that settles how weight_scale enters the output: a
// packed checkpoint of a model whose true weights are known (bitllama2c-3M:
// codes and per-matrix scale gamma; its reference output is the golden
// text), written as transformers' AutoBitLinear stores it (config
// linear_class "autobitlinear": weight_scale = gamma, the output is
// multiplied by it). Read with multiplication it reproduces the reference;
// read with division (transformers' BitLinear) it does not produce even
// the first tokens. The bitlinear case of the test above shows the
// converse: weight_scale = 1/gamma read with division is exact too.
func TestHFPackedWeightScaleMultipliesUnderAutoBitLinear(t *testing.T) {
	ref, _ := greedy(t, convertLlama2c(t, "models/bitllama2c-3M.bin", quant.I2_S), goldenSteps)
	dir := hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear"})
	agree := map[hf.ScaleMode]int{}
	for _, mode := range []hf.ScaleMode{hf.ScaleAuto, hf.ScaleMultiply, hf.ScaleDivide} {
		m, err := engine.LoadHF(dir, engine.Options{Threads: 2}, hf.Options{Scale: mode})
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := greedy(t, m, goldenSteps)
		m.Close()
		agree[mode] = agreeing(ids, ref)
	}
	if agree[hf.ScaleAuto] != goldenSteps || agree[hf.ScaleMultiply] != goldenSteps || agree[hf.ScaleDivide] > 4 {
		t.Fatalf("tokens agreeing with the reference: auto %d, multiply %d, divide %d",
			agree[hf.ScaleAuto], agree[hf.ScaleMultiply], agree[hf.ScaleDivide])
	}
}

// bfloat16 weights round each matrix's scale (codes times gamma stay
// ternary-valued, with the rounded gamma); the reference is followed for a
// while, then drifts.
func TestHFBFloat16CheckpointFollowsTheReferenceForAWhile(t *testing.T) {
	ref, _ := greedy(t, convertLlama2c(t, "models/bitllama2c-3M.bin", quant.I2_S), goldenSteps)
	m := loadPath(t, hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "bf16"}))
	ids, _ := greedy(t, m, goldenSteps)
	n := agreeing(ids, ref)
	t.Logf("bf16 checkpoint: %d of %d tokens as the reference", n, goldenSteps)
	if n < 64 {
		t.Fatalf("bf16 checkpoint agrees for only %d tokens", n)
	}
}

// With one epsilon in config.json (no extra key), rms_norm_eps 0 (the
// blocks' value) also serves the final norm; the reference's 1e-5 there
// does not change a greedy token of this model. rms_norm_eps 1e-5 in every
// norm destroys it from the first token (its block norms see inputs of the
// order of 1e-5).
func TestHFSingleEpsilonConfigReproducesTernaryReference(t *testing.T) {
	m := loadPath(t, hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "f32", SingleEps: true}))
	if m.Hyper.OutputEps != 0 {
		t.Fatalf("output eps %v", m.Hyper.OutputEps)
	}
	_, text := greedy(t, m, goldenSteps)
	checkText(t, text+"\n", golden(t, "bitllama2c-3M.runbit.greedy.txt"))
}

func TestLoadAcceptsASafetensorsFileBesideItsConfig(t *testing.T) {
	dir := hfFolder(t, "models/stories260K.bin", hftest.Variant{Arch: "LlamaForCausalLM"})
	m := loadPath(t, filepath.Join(dir, "model.safetensors"))
	if m.Tokenizer == nil || m.Hyper.Layers != 5 {
		t.Fatalf("tokenizer %v, hyper %+v", m.Tokenizer, m.Hyper)
	}
}

func TestLoadHFRejectsBrokenFolders(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(dir string)
		kind   error
		substr string
	}{
		{"unknown architecture", func(dir string) { editConfig(t, dir, "architectures", []string{"MambaForCausalLM"}) }, errs.ErrUnsupported, "MambaForCausalLM"},
		{"rope scaling", func(dir string) {
			editConfig(t, dir, "rope_scaling", map[string]any{"rope_type": "llama3", "factor": 8})
		}, errs.ErrUnsupported, "rope_scaling"},
		{"wrong layer count", func(dir string) { editConfig(t, dir, "num_hidden_layers", 9) }, errs.ErrModel, "blk.5.attn_norm.weight missing"},
		{"too few layers", func(dir string) { editConfig(t, dir, "num_hidden_layers", 4) }, errs.ErrModel, "layer 4"},
		{"no config", func(dir string) { os.Remove(filepath.Join(dir, "config.json")) }, fs.ErrNotExist, "config.json"},
		{"no weights", func(dir string) { os.Remove(filepath.Join(dir, "model.safetensors")) }, errs.ErrModel, "no safetensors"},
		{"bad header", func(dir string) {
			os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("\x02\x00\x00\x00\x00\x00\x00\x00{x"), 0o644)
		}, errs.ErrFormat, "header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := hfFolder(t, "models/stories260K.bin", hftest.Variant{Arch: "LlamaForCausalLM"})
			c.edit(dir)
			m, err := engine.Load(dir, engine.Options{Threads: 1})
			if err == nil {
				m.Close()
				t.Fatal("loaded")
			}
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.substr) {
				t.Fatalf("error %q, want %v containing %q", err, c.kind, c.substr)
			}
		})
	}
}

// editConfig sets one key of a folder's config.json.
func editConfig(t *testing.T, dir, key string, v any) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg[key] = v
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
