package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub is a local HTTP server speaking the hub's resolve protocol for
// tests: HEAD and GET on /{repo}/resolve/{revision}/{file}, LFS files
// redirected to a second server (the "CDN", another host) that serves them
// by SHA-256, Range requests, and hooks to inject failures.
type fakeHub struct {
	t      *testing.T
	srv    *httptest.Server
	cdn    *httptest.Server
	commit string

	mu    sync.Mutex
	files map[string]fakeFile // "repo/file"
	log   []logEntry
	gets  int
	// onGet, when set, may answer the n-th content GET (1-based, counting
	// GETs on the hub and the CDN) itself and return true.
	onGet func(n int, w http.ResponseWriter, r *http.Request, data []byte) bool
	// onHead, when set, may answer the n-th HEAD request itself.
	onHead func(n int, w http.ResponseWriter, r *http.Request) bool
	heads  int
	// bodyDelay is slept before each content body is sent.
	bodyDelay time.Duration
	// renamed maps an old repository id to its new one (relative redirect).
	renamed map[string]string
}

type fakeFile struct {
	data   []byte
	lfs    bool
	sha256 string // announced SHA-256 of an LFS file (normally of data)
}

type logEntry struct {
	method, host, path, rangeHdr, auth string
}

const testCommit = "0123456789abcdef0123456789abcdef01234567"

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{t: t, commit: testCommit, files: map[string]fakeFile{}, renamed: map[string]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.close)
	return h
}

func (h *fakeHub) close() {
	h.srv.Close()
	h.cdn.Close()
}

// add publishes data as repo/file; lfs files are announced by SHA-256 and
// served through the CDN.
func (h *fakeHub) add(repo, file string, data []byte, lfs bool) {
	sum := sha256.Sum256(data)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[repo+"/"+file] = fakeFile{data: data, lfs: lfs, sha256: hex.EncodeToString(sum[:])}
}

// requests returns a copy of the request log.
func (h *fakeHub) requests() []logEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logEntry(nil), h.log...)
}

// count returns how many requests used method.
func (h *fakeHub) count(method string) int {
	n := 0
	for _, e := range h.requests() {
		if e.method == method {
			n++
		}
	}
	return n
}

func (h *fakeHub) record(r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, logEntry{r.Method, r.Host, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization")})
}

// parseResolve splits /{org}/{name}/resolve/{revision}/{file...}, each
// element unescaped on its own (the revision may hold an escaped "/").
func parseResolve(escaped string) (repo, revision, file string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return "", "", "", false
		}
		parts[i] = u
	}
	for i, p := range parts {
		if p == "resolve" && i >= 1 && i+2 < len(parts) {
			return strings.Join(parts[:i], "/"), parts[i+1], strings.Join(parts[i+2:], "/"), true
		}
	}
	return "", "", "", false
}

// set changes the hub's settings under its lock (the handlers run on other
// goroutines).
func (h *fakeHub) set(f func(h *fakeHub)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.record(r)
	h.mu.Lock()
	if r.Method == http.MethodHead {
		h.heads++
	}
	n, hook := h.heads, h.onHead
	h.mu.Unlock()
	if r.Method == http.MethodHead && hook != nil && hook(n, w, r) {
		return
	}
	repo, rev, file, ok := parseResolve(r.URL.EscapedPath())
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	to, renamed := h.renamed[repo]
	h.mu.Unlock()
	if renamed {
		w.Header().Set("Location", "/"+escapePath(to)+"/resolve/"+url.PathEscape(rev)+"/"+escapePath(file))
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	h.mu.Lock()
	f, found := h.files[repo+"/"+file]
	h.mu.Unlock()
	if rev != DefaultRevision && rev != h.commit {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "revision not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", h.commit)
	if !found {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "entry not found", http.StatusNotFound)
		return
	}
	if f.lfs {
		w.Header().Set("X-Linked-Etag", `"`+f.sha256+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.data)))
		w.Header().Set("ETag", `"cafe"`)
		w.Header().Set("Location", h.cdn.URL+"/blobs/"+f.sha256)
		w.WriteHeader(http.StatusFound)
		return
	}
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(f.data), f.data)))
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		return
	}
	h.serveContent(w, r, f.data)
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record(r)
	sha := strings.TrimPrefix(r.URL.Path, "/blobs/")
	h.mu.Lock()
	var data []byte
	found := false
	for _, f := range h.files {
		if f.lfs && f.sha256 == sha {
			data, found = f.data, true
		}
	}
	h.mu.Unlock()
	if !found {
		http.NotFound(w, r)
		return
	}
	h.serveContent(w, r, data)
}

// serveContent answers a content GET, through onGet when set.
func (h *fakeHub) serveContent(w http.ResponseWriter, r *http.Request, data []byte) {
	h.mu.Lock()
	h.gets++
	n, hook, delay := h.gets, h.onGet, h.bodyDelay
	h.mu.Unlock()
	if hook != nil && hook(n, w, r, data) {
		return
	}
	time.Sleep(delay)
	serveRange(w, r, data)
}

// serveRange writes data, or the part a "bytes=N-" Range asks for.
func serveRange(w http.ResponseWriter, r *http.Request, data []byte) {
	if rg := r.Header.Get("Range"); rg != "" {
		start, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || start >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[start:])
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// dropAfter sends the headers for the whole (remaining) body, n bytes of
// it, and closes the connection.
func dropAfter(w http.ResponseWriter, r *http.Request, data []byte, n int) {
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		start, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
	}
	w.Write(data[start : start+n])
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// client returns a Client for the fake hub with temporary caches and fast
// retries.
func (h *fakeHub) client() *Client {
	dir := h.t.TempDir()
	return &Client{
		Endpoint:     h.srv.URL,
		HTTP:         &http.Client{Timeout: 20 * time.Second},
		FlatDir:      filepath.Join(dir, "bitnet", "tokenizers"),
		HubCacheDir:  filepath.Join(dir, "hf", "hub"),
		RetryDelay:   time.Millisecond,
		StallTimeout: 5 * time.Second,
	}
}

// payload returns n deterministic bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
