package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOfflineFlatFileUsesCacheAndNeverTouchesNetwork(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/model", "tokenizer.json", payload(100), false)
	c := h.client()
	cached, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	n := len(h.requests())
	c.Offline = true
	p, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.json")
	if err != nil || p != cached {
		t.Fatalf("offline cached: %q, %v", p, err)
	}
	_, err = c.FlatFile(context.Background(), "org/model", "main", "tokenizer.model")
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("offline missing: %v, want ErrOffline", err)
	}
	for _, w := range []string{"tokenizer.model", "org/model", "offline", EnvHubOffline, EnvBitnetOffline} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("offline error %q does not mention %q", err, w)
		}
	}
	if err := c.Download(context.Background(), "org/model", "main", "tokenizer.json", filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrOffline) {
		t.Errorf("offline Download: %v, want ErrOffline", err)
	}
	if got := len(h.requests()); got != n {
		t.Errorf("offline mode made %d requests", got-n)
	}
}

func TestOfflineHubFileUsesCacheAndNeverTouchesNetwork(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/model", "tokenizer.model", payload(100), true)
	c := h.client()
	cached, err := c.HubFile(context.Background(), "org/model", "main", "tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	n := len(h.requests())
	c.Offline = true
	if p, err := c.HubFile(context.Background(), "org/model", "main", "tokenizer.model"); err != nil || p != cached {
		t.Fatalf("offline cached: %q, %v", p, err)
	}
	_, err = c.HubFile(context.Background(), "org/model", "main", "tokenizer.json")
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Fatalf("offline missing: %v, want ErrOffline naming the file", err)
	}
	if got := len(h.requests()); got != n {
		t.Errorf("offline mode made %d requests", got-n)
	}
}

func TestNewClientReadsEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvEndpoint, "http://127.0.0.1:9/")
	t.Setenv(EnvToken, " hf_abc \n")
	t.Setenv(EnvHubOffline, "")
	t.Setenv(EnvBitnetOffline, "")
	t.Setenv(EnvBitnetCache, filepath.Join(dir, "b"))
	t.Setenv(EnvHubCache, "")
	t.Setenv(EnvHubCacheOld, "")
	t.Setenv(EnvHFHome, filepath.Join(dir, "home"))
	c := NewClient()
	if c.endpoint() != "http://127.0.0.1:9" || c.Token != "hf_abc" || c.Offline {
		t.Errorf("endpoint %q token %q offline %v", c.endpoint(), c.Token, c.Offline)
	}
	if c.FlatDir != filepath.Join(dir, "b", "tokenizers") {
		t.Errorf("FlatDir %s", c.FlatDir)
	}
	if c.HubCacheDir != filepath.Join(dir, "home", "hub") {
		t.Errorf("HubCacheDir %s", c.HubCacheDir)
	}
	t.Setenv(EnvHubCache, filepath.Join(dir, "hc"))
	if d, _ := HFHubCacheDir(); d != filepath.Join(dir, "hc") {
		t.Errorf("HF_HUB_CACHE ignored: %s", d)
	}
	for _, k := range []string{EnvHubOffline, EnvBitnetOffline} {
		for _, v := range []string{"1", "true", "YES", "on"} {
			t.Setenv(EnvHubOffline, "")
			t.Setenv(EnvBitnetOffline, "")
			t.Setenv(k, v)
			if !NewClient().Offline {
				t.Errorf("%s=%s does not switch offline mode on", k, v)
			}
		}
		t.Setenv(k, "0")
		if NewClient().Offline {
			t.Errorf("%s=0 switches offline mode on", k)
		}
	}
	if NewClient().endpoint() == DefaultEndpoint {
		t.Error("HF_ENDPOINT ignored")
	}
	t.Setenv(EnvEndpoint, "")
	if NewClient().endpoint() != DefaultEndpoint {
		t.Error("default endpoint wrong")
	}
}

func TestDefaultCacheFoldersWithoutVariables(t *testing.T) {
	for _, k := range []string{EnvBitnetCache, EnvHubCache, EnvHubCacheOld, EnvHFHome, EnvXDGCache} {
		t.Setenv(k, "")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip(err)
	}
	if d, err := HFHubCacheDir(); err != nil || d != filepath.Join(home, ".cache", "huggingface", "hub") {
		t.Errorf("HFHubCacheDir = %s, %v", d, err)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skip(err)
	}
	if d, err := BitnetCacheDir(); err != nil || d != filepath.Join(base, "bitnet") {
		t.Errorf("BitnetCacheDir = %s, %v", d, err)
	}
}

func TestClearCacheRemovesFolderButRefusesRootAndHome(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.MkdirAll(filepath.Join(dir, "tokenizers", "a--b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ClearCache(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("cache folder still there")
	}
	if err := ClearCache(dir); err != nil {
		t.Errorf("clearing a missing folder: %v", err)
	}
	if err := ClearCache(""); err == nil {
		t.Error("ClearCache(\"\") accepted")
	}
	// The guard is tested on its own: a broken guard must not delete anything.
	if err := refuseClear(string(filepath.Separator)); err == nil {
		t.Error("the file system root is not refused")
	}
	if home, err := os.UserHomeDir(); err == nil {
		if err := refuseClear(filepath.Clean(home)); err == nil {
			t.Error("the home folder is not refused")
		}
	}
	if err := refuseClear(dir); err != nil {
		t.Errorf("a cache folder is refused: %v", err)
	}
}

func TestHFTokenFromEnvironmentIsSentAsBearer(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/private", "tokenizer.json", payload(10), false)
	t.Setenv(EnvEndpoint, h.srv.URL)
	t.Setenv(EnvToken, "hf_test_token")
	t.Setenv(EnvHubOffline, "")
	t.Setenv(EnvBitnetOffline, "")
	t.Setenv(EnvBitnetCache, t.TempDir())
	t.Setenv(EnvHubCache, t.TempDir())
	c := NewClient()
	if _, err := c.FlatFile(context.Background(), "org/private", "main", "tokenizer.json"); err != nil {
		t.Fatal(err)
	}
	reqs := h.requests()
	if len(reqs) == 0 {
		t.Fatal("no requests")
	}
	for _, e := range reqs {
		if e.auth != "Bearer hf_test_token" {
			t.Errorf("request %+v without the token", e)
		}
	}
}
