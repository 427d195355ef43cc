// Package hub downloads files from a Hugging Face hub (or a mirror speaking
// its protocol) and keeps them in a local cache. It is shared by tokenizer
// discovery and model loading.
//
// Files are addressed by repository ("org/name"), revision (a branch, tag or
// commit; "" means "main") and file name, and fetched from
// {Endpoint}/{repo}/resolve/{revision}/{file}. Two caches are supported:
//
//   - bitnet's flat cache (FlatFile, CachedFile, Download):
//     {FlatDir}/{org}--{name}/{revision}/{file}, with FlatDir defaulting to
//     BitnetCacheDir()/tokenizers.
//   - the Hugging Face hub cache layout (HubFile, HubCachedFile), shared with
//     Python's huggingface_hub: models--{org}--{name}/blobs/{etag},
//     snapshots/{commit}/{file} (a symlink to the blob) and refs/{revision}
//     (the commit hash), so files downloaded by either side are reused.
//
// Downloads resume from a ".incomplete" file with an HTTP Range request,
// retry server errors and dropped connections with exponential backoff,
// check the SHA-256 the hub announces for LFS files, appear in the cache
// only complete (atomic rename) and are serialized between goroutines and
// processes by a lock file. Offline mode (HF_HUB_OFFLINE=1 or
// BITNET_OFFLINE=1) never touches the network: cached files are returned,
// anything else fails with ErrOffline.
package hub

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of the Client's retry and timeout settings.
const (
	DefaultRetries       = 5
	DefaultRetryDelay    = 500 * time.Millisecond
	MaxRetryDelay        = 30 * time.Second
	DefaultStallTimeout  = 60 * time.Second
	defaultHeaderTimeout = 60 * time.Second
	userAgent            = "bitnet-go-hub/1"
)

// Client fetches files from a hub. The zero value is usable (it talks to
// DefaultEndpoint without a token and has no cache folders); NewClient
// fills it from the environment. A Client is safe for concurrent use as
// long as its fields are not changed while in use.
type Client struct {
	// Endpoint is the hub's base URL (HF_ENDPOINT; DefaultEndpoint when "").
	Endpoint string
	// Token, when set, is sent to the endpoint's host as
	// "Authorization: Bearer <Token>" (HF_TOKEN). It is never sent to other
	// hosts (the storage servers that LFS downloads redirect to).
	Token string
	// Offline forbids every network access (HF_HUB_OFFLINE, BITNET_OFFLINE).
	Offline bool
	// HTTP is the HTTP client; nil means http.DefaultClient. NewClient sets
	// one with a response header timeout.
	HTTP *http.Client
	// Progress, when set, is called as a download advances with the bytes
	// present so far (resumed bytes included), the total (-1 when unknown)
	// and the file's "repo@revision/file" name. It runs on the downloading
	// goroutine and must be quick.
	Progress func(done, total int64, file string)
	// FlatDir is the root of bitnet's flat cache; "" disables it.
	FlatDir string
	// HubCacheDir is the Hugging Face hub cache folder; "" disables it.
	HubCacheDir string
	// Retries is how many times a failed request is retried (server errors,
	// rate limits, dropped or stalled connections); 0 means DefaultRetries
	// and a negative value disables retries. A retry that made progress
	// (resumed bytes) does not count.
	Retries int
	// RetryDelay is the wait before the first retry; it doubles each time,
	// up to MaxRetryDelay. 0 means DefaultRetryDelay.
	RetryDelay time.Duration
	// StallTimeout aborts and retries a transfer that receives nothing for
	// this long. 0 means DefaultStallTimeout.
	StallTimeout time.Duration
}

// NewClient returns a client configured from the environment: HF_ENDPOINT,
// HF_TOKEN, HF_HUB_OFFLINE / BITNET_OFFLINE, FlatDir =
// BitnetCacheDir()/tokenizers and HubCacheDir = HFHubCacheDir(). A cache
// folder that cannot be determined (no home folder) is left "".
func NewClient() *Client {
	c := &Client{
		Endpoint: os.Getenv(EnvEndpoint),
		Token:    strings.TrimSpace(os.Getenv(EnvToken)),
		Offline:  OfflineFromEnv(),
		HTTP:     newHTTPClient(),
	}
	if d, err := BitnetCacheDir(); err == nil {
		c.FlatDir = filepath.Join(d, "tokenizers")
	}
	if d, err := HFHubCacheDir(); err == nil {
		c.HubCacheDir = d
	}
	return c
}

// OfflineFromEnv reports whether HF_HUB_OFFLINE or BITNET_OFFLINE is set to
// a true value ("1", "true", "yes" or "on", any case).
func OfflineFromEnv() bool { return envTrue(EnvHubOffline) || envTrue(EnvBitnetOffline) }

func envTrue(key string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(key))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (c *Client) endpoint() string {
	if c.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(c.Endpoint, "/")
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// newHTTPClient is the default transport with a response header timeout.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = defaultHeaderTimeout
	return &http.Client{Transport: tr}
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return DefaultRetries
	}
	return c.Retries
}

func (c *Client) retryDelay(attempt int) time.Duration {
	d := c.RetryDelay
	if d <= 0 {
		d = DefaultRetryDelay
	}
	for i := 0; i < attempt && d < MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, MaxRetryDelay)
}

func (c *Client) stallTimeout() time.Duration {
	if c.StallTimeout <= 0 {
		return DefaultStallTimeout
	}
	return c.StallTimeout
}

// setHeaders adds the headers every request carries; the token goes only to
// the endpoint's own host.
func (c *Client) setHeaders(req *http.Request) {
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token == "" {
		return
	}
	if ep, err := url.Parse(c.endpoint()); err == nil && strings.EqualFold(ep.Host, req.URL.Host) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}
