package discovery

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/hub"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// modelSpec describes a GGUF written for a test.
type modelSpec struct {
	arch       string
	embdRows   int  // rows of token_embd.weight (0: no tensor)
	vocabKey   int  // {arch}.vocab_size (0: absent)
	embedVocab int  // size of an embedded SPM vocabulary (0: none)
	badEmbed   bool // tokenizer.ggml.model names an unknown tokenizer
}

// writeModel writes model.gguf into dir.
func writeModel(t *testing.T, dir string, s modelSpec) string {
	t.Helper()
	w := gguf.NewWriter()
	set := func(k string, v any) {
		if err := w.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	set("general.architecture", s.arch)
	if s.vocabKey > 0 {
		set(s.arch+".vocab_size", uint32(s.vocabKey))
	}
	if s.embedVocab > 0 {
		tokens, scores, types := spmVocab(s.embedVocab)
		set(tokenize.KeyModel, "llama")
		set(tokenize.KeyTokens, tokens)
		set(tokenize.KeyScores, scores)
		set(tokenize.KeyTokenType, types)
		set(tokenize.KeyBOS, uint32(1))
		set(tokenize.KeyEOS, uint32(2))
	}
	if s.badEmbed {
		set(tokenize.KeyModel, "no-such-tokenizer")
		set(tokenize.KeyTokens, []string{"a", "b"})
	}
	if s.embdRows > 0 {
		const dim = 4
		if err := w.AddTensor("token_embd.weight", quant.F32, []uint64{dim, uint64(s.embdRows)}, make([]byte, 4*dim*s.embdRows)); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "model.gguf")
	if err := w.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// spmVocab is an SPM vocabulary of n tokens: <unk>, <s>, </s>, the 256 byte
// tokens, then words.
func spmVocab(n int) ([]string, []float32, []int32) {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{tokenize.TokenTypeUnknown, tokenize.TokenTypeControl, tokenize.TokenTypeControl}
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, tokenize.TokenTypeByte)
	}
	for i := 0; len(tokens) < n; i++ {
		tokens = append(tokens, "▁w"+strconv.Itoa(i))
		types = append(types, tokenize.TokenTypeNormal)
	}
	scores := make([]float32, len(tokens))
	for i := range scores {
		scores[i] = -float32(i)
	}
	return tokens[:n], scores[:n], types[:n]
}

// copyAsset copies the shared asset rel to dst.
func copyAsset(t *testing.T, rel, dst string) string {
	t.Helper()
	src := testassets.Path(t, rel)
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// isolate points every cache and the hub at temporary places, clears the
// mode switches, and returns the bitnet cache folder.
func isolate(t *testing.T) string {
	t.Helper()
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request to the default hub: %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(dead.Close)
	cache := t.TempDir()
	t.Setenv(hub.EnvEndpoint, dead.URL)
	t.Setenv(hub.EnvToken, "")
	t.Setenv(hub.EnvBitnetCache, cache)
	t.Setenv(hub.EnvHubCache, filepath.Join(t.TempDir(), "hf"))
	t.Setenv(hub.EnvHubOffline, "")
	t.Setenv(hub.EnvBitnetOffline, "")
	t.Setenv(EnvStrict, "")
	return cache
}

// tinyHub serves files at {repo}/resolve/main/{file} like the hub (non-LFS
// files: ETag and Content-Length), counting requests.
type tinyHub struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	n     int
}

func newTinyHub(t *testing.T, files map[string][]byte) *tinyHub {
	h := &tinyHub{files: files}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
		key := strings.Replace(strings.TrimPrefix(r.URL.Path, "/"), "/resolve/main/", "/", 1)
		data, ok := h.files[key]
		w.Header().Set("X-Repo-Commit", "89abcdef0123456789abcdef0123456789abcdef")
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", `"`+strconv.Itoa(len(data))+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *tinyHub) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// tok512Row is a matrix row sending 512-token llama models to test/tok512.
func tok512Row(vocabs ...int) []Compat {
	return []Compat{{Name: "test-512", Archs: []string{"llama"}, Vocabs: vocabs, Repo: "test/tok512", File: "tokenizer.model"}}
}

func tried(d Decision) string { return strings.Join(d.Tried, " | ") }
