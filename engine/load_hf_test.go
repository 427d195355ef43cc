package engine_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/hf/hftest"
	"github.com/bitnet-dev/bitnet/internal/testassets"
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
		"BitNetForCausalLM-f32":                {Arch: "BitNetForCausalLM", Weights: "f32"},
		"BitNetForCausalLM-packed-autobitlin":  {Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear"},
		"BitNetForCausalLM-packed-sharded":     {Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear", Shards: 3},
		"BitnetForCausalLM-1bitLLM-names-f32":  {Arch: "BitnetForCausalLM", Weights: "f32"},
		"BitNetForCausalLM-packed-bitlinear":   {Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "bitlinear"},
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

func TestHFScaleConventionDecidesTernaryOutput(t *testing.T) {
	ref, _ := greedy(t, convertLlama2c(t, "models/bitllama2c-3M.bin", 36), goldenSteps)
	dir := hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear"})
	for _, c := range []struct {
		mode hf.ScaleMode
	}{{hf.ScaleMultiply}, {hf.ScaleDivide}} {
		m, err := engine.LoadHF(dir, engine.Options{Threads: 2}, hf.Options{Scale: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := greedy(t, m, 64)
		m.Close()
		t.Logf("mode %d: %d of 64 tokens agree", c.mode, agreeing(ids, ref))
	}
	_ = slices.Equal[[]int32]
}
