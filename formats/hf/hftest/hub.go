package hftest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitnet-dev/bitnet/hub"
)

// Commit is the commit every revision of a Hub resolves to.
const Commit = "89abcdef0123456789abcdef0123456789abcdef"

// Hub serves the hub's URL layout on 127.0.0.1: the revision listing
// /api/models/{repo}/revision/{rev}, and HEAD/GET on
// /{repo}/resolve/{rev}/{file} with X-Repo-Commit, a SHA-256 ETag
// (X-Linked-Etag, as for LFS files) and Range support. Hooks inject
// failures.
type Hub struct {
	srv *httptest.Server

	mu    sync.Mutex
	repos map[string]map[string][]byte // repo -> file -> content
	log   []string                     // "METHOD path [range]"
	// BadHash announces a wrong SHA-256 for these files.
	BadHash map[string]bool
	// CutOnce cuts the first GET of these files after that many bytes.
	CutOnce map[string]int
	// Fail5xx answers this many requests with 503 before serving.
	Fail5xx int
}

// NewHub starts a hub on 127.0.0.1, stopped when the test ends.
func NewHub(t testing.TB) *Hub {
	t.Helper()
	h := &Hub{repos: map[string]map[string][]byte{}, BadHash: map[string]bool{}, CutOnce: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

// PublishDir publishes every file of dir as repo's files.
func (h *Hub) PublishDir(t testing.TB, repo, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		h.Publish(repo, e.Name(), b)
	}
}

// Publish publishes data as repo's file.
func (h *Hub) Publish(repo, file string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.repos[repo] == nil {
		h.repos[repo] = map[string][]byte{}
	}
	h.repos[repo][file] = data
}

// Requests returns the log entries matching substr.
func (h *Hub) Requests(substr string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.log {
		if strings.Contains(e, substr) {
			out = append(out, e)
		}
	}
	return out
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.log = append(h.log, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("Range")))
	if h.Fail5xx > 0 {
		h.Fail5xx--
		h.mu.Unlock()
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	h.mu.Unlock()
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/api/models/"); ok {
		h.listing(w, rest)
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	repo := parts[0] + "/" + parts[1]
	rev, _ := url.PathUnescape(parts[3])
	file, _ := url.PathUnescape(strings.Join(parts[4:], "/"))
	h.mu.Lock()
	files, okRepo := h.repos[repo]
	data, okFile := files[file]
	bad, cut := h.BadHash[file], -1
	if n, ok := h.CutOnce[file]; ok && r.Method == http.MethodGet {
		cut = n
		delete(h.CutOnce, file)
	}
	h.mu.Unlock()
	if !okRepo {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "repository not found", http.StatusNotFound)
		return
	}
	if rev != "main" && rev != Commit {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "revision not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", Commit)
	if !okFile {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "entry not found", http.StatusNotFound)
		return
	}
	sum := sha256.Sum256(data)
	etag := hex.EncodeToString(sum[:])
	if bad {
		etag = strings.Repeat("0", 64)
	}
	w.Header().Set("X-Linked-Etag", `"`+etag+`"`)
	w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
	w.Header().Set("ETag", `"`+etag+`"`)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		return
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		start, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	}
	if cut >= 0 {
		w.Write(data[start : start+cut])
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	w.Write(data[start:])
}

func (h *Hub) listing(w http.ResponseWriter, rest string) {
	i := strings.Index(rest, "/revision/")
	if i < 0 {
		http.NotFound(w, nil)
		return
	}
	repo, _ := url.PathUnescape(rest[:i])
	h.mu.Lock()
	files, ok := h.repos[repo]
	var names []string
	for n := range files {
		names = append(names, n)
	}
	h.mu.Unlock()
	if !ok {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, `{"error":"Repository not found"}`, http.StatusNotFound)
		return
	}
	sort.Strings(names)
	type sib struct {
		R string `json:"rfilename"`
	}
	l := struct {
		ID       string `json:"id"`
		SHA      string `json:"sha"`
		Siblings []sib  `json:"siblings"`
	}{ID: repo, SHA: Commit}
	for _, n := range names {
		l.Siblings = append(l.Siblings, sib{n})
	}
	json.NewEncoder(w).Encode(l)
}

// Client returns a hub client for the fake hub with a fresh cache.
func (h *Hub) Client(t testing.TB, cache string) *hub.Client {
	t.Helper()
	return &hub.Client{
		Endpoint:     h.URL(),
		HTTP:         &http.Client{Timeout: 20 * time.Second},
		HubCacheDir:  cache,
		RetryDelay:   time.Millisecond,
		StallTimeout: 5 * time.Second,
	}
}

// URL is the hub's endpoint.
func (h *Hub) URL() string { return h.srv.URL }

// Set changes the hub's settings (BadHash, CutOnce, Fail5xx) under its
// lock.
func (h *Hub) Set(f func(h *Hub)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}
