package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bitnet-dev/bitnet/errs"
)

// FlatPath returns where bitnet's flat cache keeps a file:
// {FlatDir}/{org}--{name}/{revision}/{file} ("" revision: "main").
func (c *Client) FlatPath(repo, revision, file string) (string, error) {
	r, err := newRef(repo, revision, file)
	if err != nil {
		return "", err
	}
	return c.flatPath(r)
}

func (c *Client) flatPath(r ref) (string, error) {
	if c.FlatDir == "" {
		return "", fmt.Errorf("%s: no flat cache folder (set %s): %w", r, EnvBitnetCache, errs.ErrInvalidArgument)
	}
	return fromSlash(filepath.Join(c.FlatDir, flatDirName(r.repo), filepath.FromSlash(r.revision)), r.file), nil
}

// CachedFile looks for a complete cached copy of a file without touching
// the network: in the flat cache first, then in the Hugging Face hub cache.
// It returns the path and true when found.
func (c *Client) CachedFile(repo, revision, file string) (string, bool) {
	r, err := newRef(repo, revision, file)
	if err != nil {
		return "", false
	}
	if p, err := c.flatPath(r); err == nil && isFile(p) {
		return p, true
	}
	if p, _, ok := c.hubCached(r); ok {
		return p, true
	}
	return "", false
}

// FlatFile returns a cached copy of a file (CachedFile), or downloads it
// into the flat cache and returns that path. Offline, a file that is not
// cached gives an error wrapping ErrOffline.
func (c *Client) FlatFile(ctx context.Context, repo, revision, file string) (string, error) {
	r, err := newRef(repo, revision, file)
	if err != nil {
		return "", err
	}
	if p, ok := c.CachedFile(repo, revision, file); ok {
		return p, nil
	}
	dst, err := c.flatPath(r)
	if err != nil {
		return "", err
	}
	if c.Offline {
		looked := dst
		if c.HubCacheDir != "" {
			looked += " and in the Hugging Face cache " + c.HubCacheDir
		}
		return "", c.offlineError(r, looked)
	}
	if err := c.lockedDownload(ctx, r, dst, true); err != nil {
		return "", err
	}
	return dst, nil
}

// Download fetches a file from the hub into dest, replacing it, through
// dest+".incomplete" (resumed when a previous download left one) and an
// atomic rename, holding the lock file dest+".lock" meanwhile. Offline it
// fails with ErrOffline.
func (c *Client) Download(ctx context.Context, repo, revision, file, dest string) error {
	r, err := newRef(repo, revision, file)
	if err != nil {
		return err
	}
	if dest == "" {
		return fmt.Errorf("download %s: empty destination: %w", r, errs.ErrInvalidArgument)
	}
	if c.Offline {
		return c.offlineError(r, dest)
	}
	return c.lockedDownload(ctx, r, dest, false)
}

// lockedDownload downloads r into dst under dst's lock; with skipExisting a
// file that appeared while waiting for the lock is kept.
func (c *Client) lockedDownload(ctx context.Context, r ref, dst string, skipExisting bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return opError("download", r.String(), err)
	}
	unlock, err := lockFile(ctx, dst+".lock", lockOptions{})
	if err != nil {
		return opError("download", r.String(), err)
	}
	defer unlock()
	if skipExisting && isFile(dst) {
		return nil
	}
	meta, err := c.head(ctx, r)
	if err != nil {
		return opError("download", r.String(), err)
	}
	if err := c.fetchFile(ctx, r.String(), meta, dst); err != nil {
		return opError("download", r.String(), err)
	}
	return nil
}

// RemoveCached deletes the flat cache's copy of a file and any partial
// download of it (for a file that turned out to be unusable). A file that
// is not there is not an error. The Hugging Face cache is left alone.
func (c *Client) RemoveCached(repo, revision, file string) error {
	p, err := c.FlatPath(repo, revision, file)
	if err != nil {
		return err
	}
	for _, q := range []string{p, p + ".incomplete"} {
		if err := os.Remove(q); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove cached %s: %w", q, err)
		}
	}
	return nil
}

func (c *Client) offlineError(r ref, looked string) error {
	return opError("download", r.String(), fmt.Errorf(
		"file %q of %s (revision %s) is not cached (looked for %s) and offline mode is on (%s or %s): %w",
		r.file, r.repo, r.revision, looked, EnvHubOffline, EnvBitnetOffline, ErrOffline))
}

// isFile reports whether p is (or links to) a regular file.
func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
