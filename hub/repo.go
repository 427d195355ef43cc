package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxListingSize bounds the hub API's answer about one revision.
const maxListingSize = 64 << 20

// RepoInfo lists the files of one revision of a repository.
type RepoInfo struct {
	// Commit is the commit hash the revision resolved to.
	Commit string
	// Files are the repository's file names ("/"-separated), sorted.
	Files []string
	// FromCache reports that the listing was read from the Hugging Face
	// cache's snapshot folder (offline, or the hub could not be reached),
	// so it holds only the files downloaded before.
	FromCache bool
}

// apiListing is the part of {endpoint}/api/models/{repo}/revision/{rev}
// read here.
type apiListing struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// RepoFiles lists the files of a revision ("" means "main") from the hub
// API ({endpoint}/api/models/{repo}/revision/{revision}: its "sha" and
// "siblings"), recording the commit in the Hugging Face cache's
// refs/{revision} as huggingface_hub does. Offline, or when the hub keeps
// failing (server or network errors) and the cache knows the revision, the
// listing comes from the cache's snapshot folder instead (RepoInfo.FromCache).
// Offline without a cached snapshot it fails with ErrOffline.
func (c *Client) RepoFiles(ctx context.Context, repo, revision string) (RepoInfo, error) {
	r, err := newRef(repo, revision, "listing")
	if err != nil {
		return RepoInfo{}, err
	}
	name := r.repo + "@" + r.revision
	if c.Offline {
		info, ok := c.cachedListing(r)
		if !ok {
			return RepoInfo{}, opError("list", name, fmt.Errorf(
				"offline mode (%s or %s) and revision %q of %s is not in the Hugging Face cache %s: %w",
				EnvHubOffline, EnvBitnetOffline, r.revision, r.repo, c.HubCacheDir, ErrOffline))
		}
		return info, nil
	}
	info, err := c.listOnline(ctx, r)
	if err != nil {
		if errors.Is(err, ErrServer) || errors.Is(err, ErrNetwork) {
			if cached, ok := c.cachedListing(r); ok {
				return cached, nil
			}
		}
		return RepoInfo{}, opError("list", name, err)
	}
	if c.HubCacheDir != "" && r.revision != info.Commit {
		ref := fromSlash(filepath.Join(c.HubCacheDir, hubDirName(r.repo), "refs"), r.revision)
		if err := writeAtomic(ref, []byte(info.Commit)); err != nil {
			return RepoInfo{}, opError("list", name, err)
		}
	}
	return info, nil
}

// apiURL is {endpoint}/api/models/{repo}/revision/{revision}.
func apiURL(endpoint string, r ref) string {
	return strings.TrimRight(endpoint, "/") + "/api/models/" + escapePath(r.repo) + "/revision/" + url.PathEscape(r.revision)
}

func (c *Client) listOnline(ctx context.Context, r ref) (RepoInfo, error) {
	u := apiURL(c.endpoint(), r)
	var info RepoInfo
	err := c.retry(ctx, func() (bool, error) {
		var err error
		info, err = c.listOnce(ctx, u)
		return false, err
	})
	return info, err
}

func (c *Client) listOnce(ctx context.Context, u string) (RepoInfo, error) {
	actx, cancel := context.WithTimeout(ctx, c.stallTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return RepoInfo{}, fmt.Errorf("GET %s: %w (%w)", u, err, ErrInvalidName)
	}
	c.setHeaders(req)
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return RepoInfo{}, context.Cause(ctx)
		}
		return RepoInfo{}, retryable(ErrNetwork, fmt.Errorf("GET %s: %w", u, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return RepoInfo{}, statusError(resp, "GET "+u)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingSize+1))
	if err != nil {
		if ctx.Err() != nil {
			return RepoInfo{}, context.Cause(ctx)
		}
		return RepoInfo{}, retryable(ErrNetwork, fmt.Errorf("GET %s: %w", u, err))
	}
	if len(body) > maxListingSize {
		return RepoInfo{}, fmt.Errorf("GET %s: answer larger than %d bytes: %w", u, maxListingSize, ErrServer)
	}
	var l apiListing
	if err := json.Unmarshal(body, &l); err != nil {
		return RepoInfo{}, fmt.Errorf("GET %s: not a repository listing: %v: %w", u, err, ErrServer)
	}
	if !isCommit(l.SHA) {
		return RepoInfo{}, fmt.Errorf("GET %s: the listing names no commit (sha %q): %w", u, l.SHA, ErrServer)
	}
	info := RepoInfo{Commit: l.SHA}
	for _, s := range l.Siblings {
		if checkRelPath("file name", s.RFilename, 1024) != nil {
			return RepoInfo{}, fmt.Errorf("GET %s: file name %q would leave the cache folder: %w", u, s.RFilename, ErrServer)
		}
		info.Files = append(info.Files, s.RFilename)
	}
	sort.Strings(info.Files)
	return info, nil
}

// cachedListing lists the snapshot of r's revision in the Hugging Face
// cache (the files downloaded before).
func (c *Client) cachedListing(r ref) (RepoInfo, bool) {
	if c.HubCacheDir == "" {
		return RepoInfo{}, false
	}
	dir := filepath.Join(c.HubCacheDir, hubDirName(r.repo))
	commit := r.revision
	if !isCommit(commit) {
		b, err := os.ReadFile(fromSlash(filepath.Join(dir, "refs"), r.revision))
		if err != nil {
			return RepoInfo{}, false
		}
		commit = strings.TrimSpace(string(b))
		if !isCommit(commit) {
			return RepoInfo{}, false
		}
	}
	snap := filepath.Join(dir, "snapshots", commit)
	info := RepoInfo{Commit: commit, FromCache: true}
	err := filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.Contains(d.Name(), ".tmp") || !isFile(p) {
			return nil
		}
		rel, err := filepath.Rel(snap, p)
		if err != nil {
			return err
		}
		info.Files = append(info.Files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return RepoInfo{}, false
	}
	sort.Strings(info.Files)
	return info, true
}

// SnapshotDir is the Hugging Face cache folder of a commit of a
// repository: {HubCacheDir}/models--{org}--{name}/snapshots/{commit}.
func (c *Client) SnapshotDir(repo, commit string) (string, error) {
	if err := checkRepo(repo); err != nil {
		return "", err
	}
	if !isCommit(commit) {
		return "", invalid("%q is not a commit hash", commit)
	}
	if c.HubCacheDir == "" {
		return "", invalid("no Hugging Face cache folder (set %s)", EnvHubCache)
	}
	return filepath.Join(c.HubCacheDir, hubDirName(repo), "snapshots", commit), nil
}
