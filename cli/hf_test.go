package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/formats/hf/hftest"
	"github.com/bitnet-dev/bitnet/internal/testassets"
)

func hfFolder(t *testing.T, model string, v hftest.Variant) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hf")
	if err := hftest.WriteLlama2c(dir, testassets.Path(t, model), testassets.Path(t, "models/tok512.model"), v); err != nil {
		t.Fatal(err)
	}
	return dir
}

// greedyJSON generates 256 tokens greedily and returns the text.
func greedyJSON(t *testing.T, model string) string {
	t.Helper()
	out := mustRun(t, "generate", "--model", model, "--temperature", "0", "--max-tokens", "256", "--ignore-eos", "--json", "--quiet", "--threads", "2")
	var res generateOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	return res.Text + "\n"
}

func goldenText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testassets.Path(t, "golden/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGenerateAndConvertAcceptHFFolders(t *testing.T) {
	want := goldenText(t, "bitllama2c-3M.runbit.greedy.txt")
	dir := hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear"})
	if got := greedyJSON(t, dir); got != want {
		t.Fatalf("generate --model FOLDER: %q", got)
	}
	for _, typ := range []string{"i2_s", "tq2_0", "tq1_0"} {
		out := filepath.Join(t.TempDir(), "m.gguf")
		mustRun(t, "convert", dir, out, "--type", typ)
		if got := greedyJSON(t, out); got != want {
			t.Fatalf("converted to %s: %q", typ, got)
		}
	}
	// A single .safetensors file beside its config.json.
	stories := hfFolder(t, "models/stories260K.bin", hftest.Variant{Arch: "LlamaForCausalLM"})
	out := filepath.Join(t.TempDir(), "s.gguf")
	mustRun(t, "convert", filepath.Join(stories, "model.safetensors"), out, "--type", "f32")
	if got := greedyJSON(t, out); got != goldenText(t, "stories260K.runc.greedy.txt") {
		t.Fatalf("stories from safetensors: %q", got)
	}
}

func TestGenerateLoadsHFRepositoryThroughTheHubCache(t *testing.T) {
	h := hftest.NewHub(t)
	h.PublishDir(t, "org/bit3m", hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "f32"}))
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", h.URL())
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("BITNET_OFFLINE", "")
	status, out, errOut := bitnet("generate", "--model", "hf://org/bit3m@main", "--temperature", "0", "--max-tokens", "16", "--no-echo", "--threads", "2")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	want := goldenText(t, "bitllama2c-3M.runbit.greedy.txt")
	if !strings.HasPrefix(want, strings.TrimSpace(out)) || len(strings.TrimSpace(out)) < 20 {
		t.Fatalf("text %q", out)
	}
	if !strings.Contains(errOut, "downloading org/bit3m/model.safetensors") || !strings.Contains(errOut, "downloaded org/bit3m/config.json") {
		t.Errorf("no download progress on stderr: %q", errOut)
	}
	// Offline, from the cache; convert takes hf:// too.
	t.Setenv("HF_HUB_OFFLINE", "1")
	gg := filepath.Join(t.TempDir(), "m.gguf")
	mustRun(t, "convert", "hf://org/bit3m", gg, "--type", "i2_s", "--quiet")
	if got := greedyJSON(t, gg); got != want {
		t.Fatalf("converted from the cache: %q", got)
	}
	status, _, errOut = bitnet("generate", "--model", "hf://org/not-cached", "--prompt", "x")
	if status != 1 || !strings.Contains(errOut, "offline") || !strings.Contains(errOut, "org/not-cached") {
		t.Errorf("offline, uncached: status %d, %q", status, errOut)
	}
	if status, _, _ := bitnet("generate", "--model", "hf://", "--prompt", "x"); status != 2 {
		t.Errorf("hf:// without a repository: status %d, want 2", status)
	}
}

func TestProgressBarDrawsOnTerminals(t *testing.T) {
	var b strings.Builder
	p := newProgressBar(&b, true)
	p.update(0, 2048, "org/m@0123/model.safetensors")
	p.update(2048, 2048, "org/m@0123/model.safetensors")
	s := b.String()
	if !strings.Contains(s, "org/m/model.safetensors") || !strings.Contains(s, "100%") || !strings.Contains(s, "2.0 KiB") {
		t.Errorf("progress %q", s)
	}
}
