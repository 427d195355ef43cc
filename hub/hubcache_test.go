package hub

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHubFileWritesHuggingFaceLayoutForLFSFile(t *testing.T) {
	h := newFakeHub(t)
	data := payload(70_000)
	h.add("org/model", "tokenizer.json", data, true)
	sha := h.files["org/model/tokenizer.json"].sha256
	c := h.client()
	c.Token = "hf_secret"
	p, err := c.HubFile(context.Background(), "org/model", "", "tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(c.HubCacheDir, "models--org--model")
	if want := filepath.Join(repoDir, "snapshots", testCommit, "tokenizer.json"); p != want {
		t.Errorf("path %s, want %s", p, want)
	}
	if target, err := os.Readlink(p); err != nil || target != filepath.FromSlash("../../blobs/"+sha) {
		t.Errorf("snapshot link -> %q (%v), want ../../blobs/%s", target, err, sha)
	}
	if !bytes.Equal(readFile(t, filepath.Join(repoDir, "blobs", sha)), data) {
		t.Error("blob content differs")
	}
	if ref := string(readFile(t, filepath.Join(repoDir, "refs", "main"))); ref != testCommit {
		t.Errorf("refs/main = %q, want %q", ref, testCommit)
	}
	if _, err := os.Stat(filepath.Join(c.HubCacheDir, ".locks", "models--org--model", sha+".lock")); err != nil {
		t.Errorf("lock file in huggingface_hub's place: %v", err)
	}
	// The redirect to the storage host was followed with a GET there, and
	// the token went to the hub only.
	cdnHost, _ := url.Parse(h.cdn.URL)
	sawCDN := false
	for _, e := range h.requests() {
		if e.host == cdnHost.Host {
			sawCDN = true
			if e.auth != "" {
				t.Errorf("token sent to the storage host: %+v", e)
			}
		} else if e.auth != "Bearer hf_secret" {
			t.Errorf("request to the hub without the token: %+v", e)
		}
	}
	if !sawCDN {
		t.Error("LFS redirect not followed to the storage host")
	}
}

func TestHubFileNonLFSNestedFileUsesGitEtagAndDeepLink(t *testing.T) {
	h := newFakeHub(t)
	data := []byte(`{"a": 1}`)
	h.add("org/model", "sub/dir/config.json", data, false)
	c := h.client()
	p, err := c.HubFile(context.Background(), "org/model", "main", "sub/dir/config.json")
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(p)
	if err != nil || !strings.HasPrefix(target, filepath.FromSlash("../../../../blobs/")) {
		t.Errorf("link %q (%v), want ../../../../blobs/<etag>", target, err)
	}
	if !bytes.Equal(readFile(t, p), data) {
		t.Error("content through the link differs")
	}
}

func TestHubFileReusesFilesDownloadedByPython(t *testing.T) {
	// Build the layout huggingface_hub writes, with no server at all.
	h := newFakeHub(t)
	c := h.client()
	h.close()
	repoDir := filepath.Join(c.HubCacheDir, "models--microsoft--bitnet-b1.58-2B-4T")
	etag := strings.Repeat("ab", 32)
	data := []byte("tokenizer bytes")
	for _, d := range []string{"blobs", "refs", filepath.Join("snapshots", testCommit)} {
		if err := os.MkdirAll(filepath.Join(repoDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repoDir, "blobs", etag), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(testCommit), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../blobs/"+etag, filepath.Join(repoDir, "snapshots", testCommit, "tokenizer.json")); err != nil {
		t.Skipf("symlinks not available: %v", err)
	}
	for _, rev := range []string{"", "main", testCommit} {
		p, err := c.HubFile(context.Background(), "microsoft/bitnet-b1.58-2B-4T", rev, "tokenizer.json")
		if err != nil {
			t.Fatalf("revision %q: %v", rev, err)
		}
		if !bytes.Equal(readFile(t, p), data) {
			t.Errorf("revision %q: content differs", rev)
		}
	}
	if p, ok := c.CachedFile("microsoft/bitnet-b1.58-2B-4T", "main", "tokenizer.json"); !ok || !strings.HasPrefix(p, repoDir) {
		t.Errorf("CachedFile did not find the hub cache copy: %q, %v", p, ok)
	}
	if len(h.requests()) != 0 {
		t.Errorf("%d requests for cached files", len(h.requests()))
	}
}

func TestHubFileDownloadsMissingBlobAgainWhenLinkIsBroken(t *testing.T) {
	h := newFakeHub(t)
	data := payload(3000)
	h.add("org/model", "tokenizer.model", data, true)
	c := h.client()
	p, err := c.HubFile(context.Background(), "org/model", "main", "tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	sha := h.files["org/model/tokenizer.model"].sha256
	if err := os.Remove(filepath.Join(c.HubCacheDir, "models--org--model", "blobs", sha)); err != nil {
		t.Fatal(err)
	}
	p2, err := c.HubFile(context.Background(), "org/model", "main", "tokenizer.model")
	if err != nil || p2 != p || !bytes.Equal(readFile(t, p2), data) {
		t.Fatalf("after removing the blob: %q, %v", p2, err)
	}
}

func TestHubFileNotFoundRecordsNoExistForOffline(t *testing.T) {
	h := newFakeHub(t)
	c := h.client()
	_, err := c.HubFile(context.Background(), "org/model", "main", "tokenizer.json")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound", err)
	}
	marker := filepath.Join(c.HubCacheDir, "models--org--model", ".no_exist", testCommit, "tokenizer.json")
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("no .no_exist marker: %v", err)
	}
	// Offline with a known commit: the marker says "absent", not "offline".
	if err := os.MkdirAll(filepath.Join(c.HubCacheDir, "models--org--model", "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.HubCacheDir, "models--org--model", "refs", "main"), []byte(testCommit), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Offline = true
	n := len(h.requests())
	_, err = c.HubFile(context.Background(), "org/model", "main", "tokenizer.json")
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrOffline) {
		t.Errorf("offline with .no_exist: %v, want ErrNotFound", err)
	}
	if len(h.requests()) != n {
		t.Error("offline lookup touched the network")
	}
}

func TestHubFileCommitRevisionWritesNoRef(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/model", "config.json", []byte("{}"), false)
	c := h.client()
	if _, err := c.HubFile(context.Background(), "org/model", testCommit, "config.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.HubCacheDir, "models--org--model", "refs")); err == nil {
		t.Error("refs written for a commit revision")
	}
}

func TestRelativeRedirectOfRenamedRepositoryIsFollowed(t *testing.T) {
	h := newFakeHub(t)
	data := payload(500)
	h.add("org/new-name", "tokenizer.model", data, true)
	h.set(func(h *fakeHub) { h.renamed["org/old-name"] = "org/new-name" })
	c := h.client()
	p, err := c.HubFile(context.Background(), "org/old-name", "main", "tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p, "models--org--old-name") || !bytes.Equal(readFile(t, p), data) {
		t.Errorf("path %s or content wrong", p)
	}
}

func TestServerWithoutHubHeadersIsRejected(t *testing.T) {
	h := newFakeHub(t)
	h.set(func(h *fakeHub) {
		h.onHead = func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Length", "3")
			return true // a plain web server: no X-Repo-Commit, no ETag
		}
	})
	c := h.client()
	_, err := c.HubFile(context.Background(), "org/model", "main", "x.json")
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "X-Repo-Commit") {
		t.Fatalf("err %v, want ErrServer about X-Repo-Commit", err)
	}
}

func TestUnauthorizedAndHiddenRepositories(t *testing.T) {
	h := newFakeHub(t)
	h.set(func(h *fakeHub) {
		h.onHead = func(n int, w http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.Path, "gated") {
				w.Header().Set("X-Error-Code", "GatedRepo")
				w.WriteHeader(http.StatusForbidden)
			} else {
				w.Header().Set("X-Error-Code", "RepositoryNotFound")
				w.Header().Set("X-Error-Message", "Repository not found")
				w.WriteHeader(http.StatusUnauthorized)
			}
			return true
		}
	})
	c := h.client()
	dest := filepath.Join(t.TempDir(), "f")
	err := c.Download(context.Background(), "org/gated", "main", "f", dest)
	if !errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), EnvToken) {
		t.Errorf("gated: %v, want ErrUnauthorized mentioning %s", err, EnvToken)
	}
	err = c.Download(context.Background(), "org/hidden", "main", "f", dest)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "Repository not found") {
		t.Errorf("hidden: %v, want ErrNotFound with the hub's message", err)
	}
	if got := h.count(http.MethodHead); got != 2 {
		t.Errorf("%d HEADs, want 2 (no retries for 401/403)", got)
	}
}
