package discovery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/hub"
	"github.com/bitnet-dev/bitnet/tokenize"
)

var ctx = context.Background()

func TestStrategyNames(t *testing.T) {
	want := map[Strategy]string{None: "none", Exact: "exact", Colocated: "co-located", Cached: "cached",
		Embedded: "embedded", Downloaded: "downloaded", Mock: "mock"}
	for s, name := range want {
		if s.String() != name {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), name)
		}
	}
	if !Downloaded.RequiresNetwork() || Cached.RequiresNetwork() || !Cached.UsesCache() || Embedded.UsesCache() {
		t.Error("RequiresNetwork/UsesCache wrong")
	}
}

func TestExactPathWinsOverColocatedAndEmbedded(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", embdRows: 512, embedVocab: 512})
	copyAsset(t, "models/tok512.model", filepath.Join(dir, "tokenizer.model"))
	exact := copyAsset(t, "models/tok512.model", filepath.Join(t.TempDir(), "my.model"))
	tok, d, err := Discover(ctx, model, Options{TokenizerPath: exact})
	if err != nil {
		t.Fatal(err)
	}
	if d.Strategy != Exact || d.Path != exact || tok.VocabSize() != 512 || len(d.Tried) != 0 {
		t.Errorf("decision %+v, vocab %d", d, tok.VocabSize())
	}
}

func TestExactPathThatDoesNotLoadIsAnError(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", embdRows: 512, embedVocab: 512})
	bad := filepath.Join(dir, "bad.bin")
	if err := os.WriteFile(bad, []byte("\x00\x01 not a tokenizer"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, d, err := Discover(ctx, model, Options{TokenizerPath: bad})
	if err == nil || !strings.Contains(err.Error(), bad) || d.Strategy != None {
		t.Fatalf("err %v, decision %+v: want an error naming %s and no fallback", err, d, bad)
	}
}

func TestColocatedTokenizerModelIsUsed(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", embdRows: 512})
	p := copyAsset(t, "models/tok512.model", filepath.Join(dir, "tokenizer.model"))
	tok, d, err := Discover(ctx, model, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Strategy != Colocated || d.Path != p || tok.Kind() != "spm" || d.ModelVocab != 512 {
		t.Errorf("decision %+v, kind %s", d, tok.Kind())
	}
	if !strings.Contains(tried(d), "tokenizer.json: absent") {
		t.Errorf("tried %q does not record the missing tokenizer.json", tried(d))
	}
	ids, err := tok.Encode("Hello", tokenize.EncodeOptions{})
	if err != nil || len(ids) == 0 {
		t.Errorf("encode: %v %v", ids, err)
	}
}

func TestColocatedTokenizerJSONIsPreferred(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", vocabKey: 128256})
	copyAsset(t, "models/tok512.model", filepath.Join(dir, "tokenizer.model"))
	js := copyAsset(t, "tokenizers/llama3-tokenizer.json", filepath.Join(dir, "tokenizer.json"))
	tok, d, err := Discover(ctx, model, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Strategy != Colocated || d.Path != js || tok.VocabSize() != 128256 {
		t.Errorf("decision %+v, vocab %d", d, tok.VocabSize())
	}
}

func TestBrokenColocatedFileIsSkippedUnlessStrict(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", embdRows: 512, embedVocab: 512})
	bad := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(bad, []byte("{ not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, d, err := Discover(ctx, model, Options{})
	if err != nil || d.Strategy != Embedded || d.Path != model {
		t.Fatalf("non-strict: %v, %+v: want the embedded vocabulary", err, d)
	}
	if !strings.Contains(tried(d), bad) || !strings.Contains(tried(d), "does not load") {
		t.Errorf("tried %q does not explain the skipped file", tried(d))
	}
	t.Setenv(EnvStrict, "1")
	if _, _, err := Discover(ctx, model, Options{}); err == nil || !strings.Contains(err.Error(), "strict") {
		t.Errorf("strict: %v, want an error for the broken file", err)
	}
}

func TestEmbeddedVocabularyIsUsed(t *testing.T) {
	isolate(t)
	model := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 600, embedVocab: 600})
	tok, d, err := Discover(ctx, model, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Strategy != Embedded || d.Path != model || tok.VocabSize() != 600 || !strings.Contains(d.Reason, "llama") {
		t.Errorf("decision %+v, vocab %d", d, tok.VocabSize())
	}
}

func TestCachedCopyIsUsedBeforeEmbeddedWithoutNetwork(t *testing.T) {
	cache := isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", embdRows: 512, embedVocab: 512})
	p := copyAsset(t, "models/tok512.model", filepath.Join(cache, "tokenizers", "test--tok512", "main", "tokenizer.model"))
	_, d, err := Discover(ctx, model, Options{Matrix: tok512Row(512)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Strategy != Cached || d.Path != p || d.Repo != "test/tok512" || !strings.Contains(d.Reason, "test-512") {
		t.Errorf("decision %+v", d)
	}
}

func TestDownloadFromHubThenCacheHit(t *testing.T) {
	cache := isolate(t)
	data, err := os.ReadFile(copyAsset(t, "models/tok512.model", filepath.Join(t.TempDir(), "t.model")))
	if err != nil {
		t.Fatal(err)
	}
	h := newTinyHub(t, map[string][]byte{"test/tok512/tokenizer.model": data})
	t.Setenv(hub.EnvEndpoint, h.srv.URL)
	model := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 512})
	rows := tok512Row(512)
	rows[0].Companions = []string{"tokenizer_config.json"} // absent on the hub: ignored
	tok, d, err := Discover(ctx, model, Options{Matrix: rows})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cache, "tokenizers", "test--tok512", "main", "tokenizer.model")
	if d.Strategy != Downloaded || d.Path != want || d.Repo != "test/tok512" || tok.VocabSize() != 512 {
		t.Errorf("decision %+v", d)
	}
	if !strings.Contains(tried(d), "embedded") || !strings.Contains(tried(d), "not in the cache") {
		t.Errorf("tried %q", tried(d))
	}
	n := h.requests()
	_, d, err = Discover(ctx, model, Options{Matrix: rows})
	if err != nil || d.Strategy != Cached || d.Path != want {
		t.Fatalf("second run: %v, %+v: want the cached copy", err, d)
	}
	if h.requests() != n {
		t.Errorf("second run made %d requests", h.requests()-n)
	}
}

func TestOfflineForbidsDownload(t *testing.T) {
	isolate(t)
	h := newTinyHub(t, map[string][]byte{"test/tok512/tokenizer.model": []byte("x")})
	t.Setenv(hub.EnvEndpoint, h.srv.URL)
	t.Setenv(hub.EnvBitnetOffline, "1")
	model := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 512})
	_, d, err := Discover(ctx, model, Options{Matrix: tok512Row(512)})
	if !errors.Is(err, ErrNoTokenizer) || !errors.Is(err, errs.ErrTokenization) {
		t.Fatalf("err %v, want ErrNoTokenizer", err)
	}
	if !strings.Contains(err.Error(), "offline") || !strings.Contains(tried(d), "offline") {
		t.Errorf("error %q / tried %q do not mention offline mode", err, tried(d))
	}
	if h.requests() != 0 {
		t.Errorf("offline mode made %d requests", h.requests())
	}
	// Options.Offline alone does the same.
	t.Setenv(hub.EnvBitnetOffline, "")
	if _, _, err := Discover(ctx, model, Options{Matrix: tok512Row(512), Offline: true}); !errors.Is(err, ErrNoTokenizer) || h.requests() != 0 {
		t.Errorf("Options.Offline: %v, %d requests", err, h.requests())
	}
}

func TestDownloadedTokenizerWithWrongVocabularyIsRemoved(t *testing.T) {
	cache := isolate(t)
	data, err := os.ReadFile(copyAsset(t, "models/tok512.model", filepath.Join(t.TempDir(), "t.model")))
	if err != nil {
		t.Fatal(err)
	}
	h := newTinyHub(t, map[string][]byte{"test/tok512/tokenizer.model": data})
	t.Setenv(hub.EnvEndpoint, h.srv.URL)
	model := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 2048})
	_, _, err = Discover(ctx, model, Options{Matrix: tok512Row(2048)})
	if !errors.Is(err, ErrVocabMismatch) || !errors.Is(err, errs.ErrTokenization) {
		t.Fatalf("err %v, want ErrVocabMismatch", err)
	}
	for _, w := range []string{"512", "2048", "token_embd.weight"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
	if h.requests() == 0 {
		t.Fatal("nothing was downloaded")
	}
	p := filepath.Join(cache, "tokenizers", "test--tok512", "main", "tokenizer.model")
	if _, err := os.Stat(p); err == nil {
		t.Error("mismatched download left in the cache")
	}
}

func TestVocabularyLargerThanModelIsRejected(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", embdRows: 300})
	copyAsset(t, "models/tok512.model", filepath.Join(dir, "tokenizer.model"))
	_, d, err := Discover(ctx, model, Options{})
	if !errors.Is(err, ErrVocabMismatch) || !strings.Contains(err.Error(), "more than") || d.Strategy != None {
		t.Fatalf("err %v, decision %+v", err, d)
	}
}

func TestVocabularySlackAllowsPaddedEmbedding(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := writeModel(t, dir, modelSpec{arch: "llama", embdRows: 514})
	copyAsset(t, "models/tok512.model", filepath.Join(dir, "tokenizer.model"))
	if _, d, err := Discover(ctx, model, Options{}); err != nil || d.Strategy != Colocated {
		t.Errorf("padded embedding (514 rows, 512 tokens): %v, %+v", err, d)
	}
	if _, _, err := Discover(ctx, model, Options{VocabSlack: -1}); !errors.Is(err, ErrVocabMismatch) {
		t.Errorf("VocabSlack -1 (exact): %v, want ErrVocabMismatch", err)
	}
	if _, _, err := Discover(ctx, model, Options{VocabSlack: 1}); !errors.Is(err, ErrVocabMismatch) {
		t.Errorf("VocabSlack 1: %v, want ErrVocabMismatch", err)
	}
}

func TestMockOnlyWhenAllowedAndNotStrict(t *testing.T) {
	isolate(t)
	model := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 300})
	_, d, err := Discover(ctx, model, Options{})
	if !errors.Is(err, ErrNoTokenizer) || errs.CodeOf(err) != errs.CodeTokenization {
		t.Fatalf("no tokenizer, no mock: %v", err)
	}
	if !strings.Contains(tried(d), "mock: not allowed") {
		t.Errorf("tried %q", tried(d))
	}
	tok, d, err := Discover(ctx, model, Options{AllowMock: true})
	if err != nil || d.Strategy != Mock || tok.VocabSize() != 300 || tok.Kind() != "mock" {
		t.Fatalf("AllowMock: %v, %+v", err, d)
	}
	t.Setenv(EnvStrict, "1")
	_, d, err = Discover(ctx, model, Options{AllowMock: true})
	if !errors.Is(err, ErrNoTokenizer) || !strings.Contains(tried(d), "strict") {
		t.Errorf("strict with AllowMock: %v, tried %q", err, tried(d))
	}
	t.Setenv(EnvStrict, "")
	if _, _, err := Discover(ctx, model, Options{AllowMock: true, Strict: true}); !errors.Is(err, ErrNoTokenizer) {
		t.Errorf("Options.Strict with AllowMock: %v", err)
	}
}

func TestBrokenEmbeddedVocabularySkippedUnlessStrict(t *testing.T) {
	isolate(t)
	model := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 300, badEmbed: true})
	_, d, err := Discover(ctx, model, Options{AllowMock: true})
	if err != nil || d.Strategy != Mock || !strings.Contains(tried(d), "embedded") {
		t.Errorf("non-strict: %v, %+v", err, d)
	}
	if _, _, err := Discover(ctx, model, Options{Strict: true}); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("strict: %v, want the embedded vocabulary's error", err)
	}
}

func TestNonGGUFModelUsesColocatedTokenizerWithoutVocabCheck(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model.bin")
	if err := os.WriteFile(model, []byte("llama2.c checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyAsset(t, "models/tok512.model", filepath.Join(dir, "tokenizer.model"))
	_, d, err := Discover(ctx, model, Options{})
	if err != nil || d.Strategy != Colocated || d.ModelVocab != 0 {
		t.Fatalf("%v, %+v", err, d)
	}
	if _, _, err := Discover(ctx, model, Options{ModelVocab: 1000}); !errors.Is(err, ErrVocabMismatch) {
		t.Errorf("Options.ModelVocab 1000: %v, want ErrVocabMismatch", err)
	}
}

func TestMissingModelAndEmptyArguments(t *testing.T) {
	isolate(t)
	if _, _, err := Discover(ctx, filepath.Join(t.TempDir(), "none.gguf"), Options{}); err == nil || errs.CodeOf(err) != errs.CodeIO {
		t.Errorf("missing model: %v", err)
	}
	if _, _, err := Discover(ctx, "", Options{}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("no model, no tokenizer: %v", err)
	}
	exact := copyAsset(t, "models/tok512.model", filepath.Join(t.TempDir(), "t.model"))
	if _, d, err := Discover(ctx, "", Options{TokenizerPath: exact}); err != nil || d.Strategy != Exact {
		t.Errorf("tokenizer path alone: %v, %+v", err, d)
	}
}

func TestMismatchedCachedCopyIsRemovedOnlyFromBitnetCache(t *testing.T) {
	cache := isolate(t)
	model := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 2048})
	flat := copyAsset(t, "models/tok512.model", filepath.Join(cache, "tokenizers", "test--tok512", "main", "tokenizer.model"))
	if _, _, err := Discover(ctx, model, Options{Matrix: tok512Row(2048)}); !errors.Is(err, ErrVocabMismatch) {
		t.Fatalf("flat cache copy: %v, want ErrVocabMismatch", err)
	}
	if _, err := os.Stat(flat); err == nil {
		t.Error("mismatched copy left in bitnet's cache")
	}

	// A copy in the Hugging Face cache (shared with Python) is reported but
	// left alone.
	hf := os.Getenv(hub.EnvHubCache)
	commit := "fedcba9876543210fedcba9876543210fedcba98"
	repoDir := filepath.Join(hf, "models--test--tok512")
	snap := copyAsset(t, "models/tok512.model", filepath.Join(repoDir, "snapshots", commit, "tokenizer.model"))
	if err := os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Discover(ctx, model, Options{Matrix: tok512Row(2048)})
	if !errors.Is(err, ErrVocabMismatch) || !strings.Contains(err.Error(), snap) {
		t.Fatalf("hub cache copy: %v, want ErrVocabMismatch naming %s", err, snap)
	}
	if _, err := os.Stat(snap); err != nil {
		t.Errorf("hub cache copy removed: %v", err)
	}
	// With the right model, the Hugging Face copy is found as cached.
	model512 := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 512})
	if _, d, err := Discover(ctx, model512, Options{Matrix: tok512Row(512)}); err != nil || d.Strategy != Cached || d.Path != snap {
		t.Errorf("hub cache copy for a fitting model: %v, %+v", err, d)
	}
}

func TestDiscoverModelWithOpenGGUF(t *testing.T) {
	isolate(t)
	p := writeModel(t, t.TempDir(), modelSpec{arch: "llama", embdRows: 512, embedVocab: 512})
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	m := ModelFromGGUF(p, f)
	f.Close()
	tok, d, err := DiscoverModel(ctx, m, Options{})
	if err != nil || d.Strategy != Embedded || tok.VocabSize() != 512 {
		t.Fatalf("%v, %+v", err, d)
	}
}
