package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/hf/hftest"
	"github.com/bitnet-dev/bitnet/formats/llama2c"
	"github.com/bitnet-dev/bitnet/hub"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
)

const testRepo = "bitnet-test/bit3m"

var packedVariant = hftest.Variant{Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear"}

func pretrained(t *testing.T, c *hub.Client, repo string) *engine.Model {
	t.Helper()
	m, err := engine.FromPretrainedWith(context.Background(), c, repo, "main", engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// cachedFiles lists the regular files below dir (relative), skipping locks.
func cachedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.Contains(p, ".locks") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestFromPretrainedDownloadsIntoHubCacheThenWorksOffline(t *testing.T) {
	h := hftest.NewHub(t)
	h.PublishDir(t, testRepo, hfFolder(t, "models/bitllama2c-3M.bin", packedVariant))
	cache := t.TempDir()
	c := h.Client(t, cache)
	var progressFiles = map[string]int64{}
	c.Progress = func(done, total int64, file string) { progressFiles[file] = done }
	m := pretrained(t, c, testRepo)
	_, text := greedy(t, m, goldenSteps)
	checkText(t, text+"\n", golden(t, "bitllama2c-3M.runbit.greedy.txt"))

	snap := filepath.Join(cache, "models--bitnet-test--bit3m", "snapshots", hftest.Commit)
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.model"} {
		st, err := os.Lstat(filepath.Join(snap, f))
		if err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("snapshot %s: %v (mode %v), want a link to a blob", f, err, st)
		}
		if progressFiles[testRepo+"@"+hftest.Commit+"/"+f] == 0 {
			t.Errorf("no progress reported for %s: %v", f, progressFiles)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(cache, "models--bitnet-test--bit3m", "refs", "main")); string(b) != hftest.Commit {
		t.Errorf("refs/main = %q", b)
	}
	if m.Info.Path != snap {
		t.Errorf("model path %s, want %s", m.Info.Path, snap)
	}

	// A second load downloads nothing.
	gets := len(h.Requests("GET /bitnet-test"))
	pretrained(t, h.Client(t, cache), testRepo)
	if n := len(h.Requests("GET /bitnet-test")); n != gets || len(h.Requests("HEAD")) != 3 {
		t.Errorf("second load: %d file GETs (first %d), HEADs %v", n, gets, h.Requests("HEAD"))
	}

	// Offline: no request at all.
	before := len(h.Requests(""))
	off := h.Client(t, cache)
	off.Offline = true
	_, text = greedy(t, pretrained(t, off, testRepo), goldenSteps)
	checkText(t, text+"\n", golden(t, "bitllama2c-3M.runbit.greedy.txt"))
	if n := len(h.Requests("")); n != before {
		t.Errorf("offline load sent %d requests", n-before)
	}
	// Offline, a repository that is not cached fails clearly.
	_, err := engine.FromPretrainedWith(context.Background(), off, "bitnet-test/other", "", engine.Options{Threads: 1})
	if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), "bitnet-test/other") {
		t.Errorf("offline, uncached repository: %v", err)
	}
	// Offline, a file missing from the cached snapshot fails clearly.
	os.Remove(filepath.Join(snap, "model.safetensors"))
	_, err = engine.FromPretrainedWith(context.Background(), off, testRepo, "", engine.Options{Threads: 1})
	if !errors.Is(err, hub.ErrOffline) {
		t.Errorf("offline, file missing from the cache: %v", err)
	}
}

func TestFromPretrainedPrefersGGUF(t *testing.T) {
	h := hftest.NewHub(t)
	h.PublishDir(t, testRepo, hfFolder(t, "models/bitllama2c-3M.bin", packedVariant))
	w := convertLlama2cWriter(t, "models/bitllama2c-3M.bin", quant.I2_S)
	gg := filepath.Join(t.TempDir(), "x.gguf")
	if err := w.WriteFile(gg); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(gg)
	h.Publish(testRepo, "ggml-model-i2_s.gguf", b)
	h.Publish(testRepo, "ggml-model-f32.gguf", []byte("not read"))
	m := pretrained(t, h.Client(t, t.TempDir()), testRepo)
	if !strings.HasSuffix(m.Info.Path, "ggml-model-i2_s.gguf") {
		t.Errorf("loaded %s", m.Info.Path)
	}
	if got := h.Requests("GET /bitnet-test"); len(got) != 1 {
		t.Errorf("file GETs %v, want only the GGUF", got)
	}
}

func TestFromPretrainedFetchesEveryShard(t *testing.T) {
	h := hftest.NewHub(t)
	v := packedVariant
	v.Shards = 3
	h.PublishDir(t, testRepo, hfFolder(t, "models/bitllama2c-3M.bin", v))
	m := pretrained(t, h.Client(t, t.TempDir()), testRepo)
	if n := len(h.Requests("GET /bitnet-test/bit3m/resolve/" + hftest.Commit + "/model-0000")); n != 3 {
		t.Errorf("%d shard GETs, want 3", n)
	}
	_, text := greedy(t, m, 32)
	if !strings.HasPrefix(golden(t, "bitllama2c-3M.runbit.greedy.txt"), text) {
		t.Errorf("text %q", text)
	}
}

func TestFromPretrainedResumesACutTransfer(t *testing.T) {
	h := hftest.NewHub(t)
	h.PublishDir(t, testRepo, hfFolder(t, "models/bitllama2c-3M.bin", packedVariant))
	h.CutOnce["model.safetensors"] = 100_000
	pretrained(t, h.Client(t, t.TempDir()), testRepo)
	if got := h.Requests("model.safetensors bytes=100000-"); len(got) != 1 {
		t.Errorf("resume requests %v, want one GET from byte 100000", h.Requests("model.safetensors"))
	}
}

func TestFromPretrainedWrongHashLeavesNothingInCache(t *testing.T) {
	h := hftest.NewHub(t)
	h.PublishDir(t, testRepo, hfFolder(t, "models/bitllama2c-3M.bin", packedVariant))
	h.BadHash["model.safetensors"] = true
	cache := t.TempDir()
	_, err := engine.FromPretrainedWith(context.Background(), h.Client(t, cache), testRepo, "", engine.Options{Threads: 1})
	if !errors.Is(err, hub.ErrChecksum) {
		t.Fatalf("error %v, want ErrChecksum", err)
	}
	for _, f := range cachedFiles(t, cache) {
		if strings.Contains(f, strings.Repeat("0", 64)) || strings.HasSuffix(f, "model.safetensors") || strings.HasSuffix(f, ".incomplete") {
			t.Errorf("left in the cache: %s", f)
		}
	}
}

func TestFromPretrainedReportsMissingRepositoriesAndRetriesServerErrors(t *testing.T) {
	h := hftest.NewHub(t)
	h.PublishDir(t, testRepo, hfFolder(t, "models/bitllama2c-3M.bin", packedVariant))
	_, err := engine.FromPretrainedWith(context.Background(), h.Client(t, t.TempDir()), "bitnet-test/missing", "", engine.Options{Threads: 1})
	if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "bitnet-test/missing") {
		t.Errorf("missing repository: %v", err)
	}
	before := len(h.Requests("/api/models/"))
	h.Set(func(h *hftest.Hub) { h.Fail5xx = 3 })
	pretrained(t, h.Client(t, t.TempDir()), testRepo)
	if n := len(h.Requests("/api/models/")) - before; n != 4 {
		t.Errorf("%d listing requests, want 3 failures and a success", n)
	}
	h.Set(func(h *hftest.Hub) { h.Fail5xx = 1000 })
	c := h.Client(t, t.TempDir())
	c.Retries = 2
	_, err = engine.FromPretrainedWith(context.Background(), c, testRepo, "", engine.Options{Threads: 1})
	if !errors.Is(err, hub.ErrServer) || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "gave up after 3 tries") {
		t.Errorf("persistent 503: %v", err)
	}
}

// convertLlama2cWriter converts a llama2.c checkpoint of the shared assets
// to a GGUF held in memory.
func convertLlama2cWriter(t *testing.T, model string, typ quant.Type) *gguf.Writer {
	t.Helper()
	m, err := llama2c.Open(testassets.Path(t, model))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	vocab, err := convert.LoadVocab(testassets.Path(t, "models/tok512.model"), m.Config.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	w, err := convert.FromLlama2c(m, vocab, "test", convert.Options{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return w
}
