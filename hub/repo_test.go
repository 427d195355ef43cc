package hub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listingServer answers the revision listing with body (status 200) or
// with status.
func listingServer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.EscapedPath() != "/api/models/org/model/revision/main" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unexpected "+r.URL.EscapedPath(), http.StatusBadRequest)
			return
		}
		if status != http.StatusOK {
			http.Error(w, "nope", status)
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func listingClient(srv *httptest.Server, cache string) *Client {
	return &Client{Endpoint: srv.URL, Token: "tok", HubCacheDir: cache, RetryDelay: time.Millisecond, Retries: 2, StallTimeout: 5 * time.Second}
}

func TestRepoFilesListsSiblingsAndRecordsTheRef(t *testing.T) {
	srv, _ := listingServer(t, 200, `{"sha":"`+testCommit+`","siblings":[{"rfilename":"b.json"},{"rfilename":"a/x.safetensors"}]}`)
	cache := t.TempDir()
	info, err := listingClient(srv, cache).RepoFiles(context.Background(), "org/model", "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Commit != testCommit || strings.Join(info.Files, ",") != "a/x.safetensors,b.json" || info.FromCache {
		t.Fatalf("%+v", info)
	}
	if b, _ := os.ReadFile(filepath.Join(cache, "models--org--model", "refs", "main")); string(b) != testCommit {
		t.Errorf("refs/main = %q", b)
	}
}

func TestRepoFilesRejectsHostileListings(t *testing.T) {
	for _, body := range []string{
		`{"sha":"` + testCommit + `","siblings":[{"rfilename":"../../etc/passwd"}]}`,
		`{"sha":"HEAD","siblings":[]}`,
		`not json`,
	} {
		srv, _ := listingServer(t, 200, body)
		_, err := listingClient(srv, t.TempDir()).RepoFiles(context.Background(), "org/model", "main")
		if !errors.Is(err, ErrServer) {
			t.Errorf("%s: error %v, want ErrServer", body, err)
		}
	}
}

func TestRepoFilesFallsBackToTheCachedSnapshot(t *testing.T) {
	cache := t.TempDir()
	snap := filepath.Join(cache, "models--org--model", "snapshots", testCommit)
	for _, f := range []string{"config.json", "sub/tokenizer.json"} {
		p := filepath.Join(snap, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("{}"), 0o644)
	}
	os.MkdirAll(filepath.Join(cache, "models--org--model", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--org--model", "refs", "main"), []byte(testCommit), 0o644)

	// The hub keeps failing: the cache answers.
	srv, n := listingServer(t, 503, "")
	info, err := listingClient(srv, cache).RepoFiles(context.Background(), "org/model", "main")
	if err != nil || !info.FromCache || strings.Join(info.Files, ",") != "config.json,sub/tokenizer.json" {
		t.Fatalf("%+v, %v", info, err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3 (two retries)", n.Load())
	}
	// Offline: no request; an unknown repository is ErrOffline.
	c := listingClient(srv, cache)
	c.Offline = true
	before := n.Load()
	if info, err := c.RepoFiles(context.Background(), "org/model", "main"); err != nil || info.Commit != testCommit {
		t.Fatalf("offline: %+v, %v", info, err)
	}
	if _, err := c.RepoFiles(context.Background(), "org/other", "main"); !errors.Is(err, ErrOffline) {
		t.Errorf("offline, unknown repository: %v", err)
	}
	if n.Load() != before {
		t.Error("offline listing sent a request")
	}
	// A 404 is not hidden by the cache.
	srv404, _ := listingServer(t, 404, "")
	if _, err := listingClient(srv404, cache).RepoFiles(context.Background(), "org/model", "main"); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %v", err)
	}
}

func TestSnapshotDirValidatesItsArguments(t *testing.T) {
	c := &Client{HubCacheDir: "/cache"}
	if p, err := c.SnapshotDir("org/model", testCommit); err != nil || p != filepath.Join("/cache", "models--org--model", "snapshots", testCommit) {
		t.Errorf("%s, %v", p, err)
	}
	for _, bad := range [][2]string{{"../x", testCommit}, {"org/model", "main"}} {
		if _, err := c.SnapshotDir(bad[0], bad[1]); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
