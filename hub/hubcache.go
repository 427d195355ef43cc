package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// HubCachedFile looks for a file in the Hugging Face hub cache without
// touching the network: snapshots/{commit}/{file}, with the commit read
// from refs/{revision} unless the revision is a commit hash itself.
func (c *Client) HubCachedFile(repo, revision, file string) (string, bool) {
	r, err := newRef(repo, revision, file)
	if err != nil {
		return "", false
	}
	p, _, ok := c.hubCached(r)
	return p, ok
}

// hubCached returns the snapshot path of r, the commit its revision
// resolves to in the cache ("" when unknown) and whether the file is there.
func (c *Client) hubCached(r ref) (string, string, bool) {
	if c.HubCacheDir == "" {
		return "", "", false
	}
	dir := filepath.Join(c.HubCacheDir, hubDirName(r.repo))
	commit := r.revision
	if !isCommit(commit) {
		b, err := os.ReadFile(fromSlash(filepath.Join(dir, "refs"), r.revision))
		if err != nil {
			return "", "", false
		}
		commit = strings.TrimSpace(string(b))
		if !isCommit(commit) {
			return "", "", false
		}
	}
	p := fromSlash(filepath.Join(dir, "snapshots", commit), r.file)
	return p, commit, isFile(p)
}

// HubFile returns the path of a file in the Hugging Face hub cache
// (snapshots/{commit}/{file}), downloading it when it is not cached yet: the
// revision is resolved to a commit with a HEAD request, refs/{revision} is
// updated, the content goes to blobs/{etag} (resumable, SHA-256 checked for
// LFS files) and the snapshot entry links to it (a copy where symbolic
// links are not allowed). A cached file is returned without any network
// access, so a branch is not re-checked for newer commits; pass a commit
// hash or clear the cache to refresh. Offline, a missing file gives
// ErrOffline, or ErrNotFound when the cache records it as absent.
func (c *Client) HubFile(ctx context.Context, repo, revision, file string) (string, error) {
	r, err := newRef(repo, revision, file)
	if err != nil {
		return "", err
	}
	if c.HubCacheDir == "" {
		return "", opError("download", r.String(), fmt.Errorf("no Hugging Face cache folder (set %s): %w", EnvHubCache, ErrInvalidName))
	}
	snap, commit, ok := c.hubCached(r)
	if ok {
		return snap, nil
	}
	dir := filepath.Join(c.HubCacheDir, hubDirName(r.repo))
	if c.Offline {
		if commit != "" && isFile(fromSlash(filepath.Join(dir, ".no_exist", commit), r.file)) {
			return "", opError("download", r.String(), fmt.Errorf("the cache records that %q does not exist at commit %s: %w", r.file, commit, ErrNotFound))
		}
		return "", c.offlineError(r, "the Hugging Face cache "+c.HubCacheDir)
	}
	meta, err := c.head(ctx, r)
	if err != nil {
		if errors.Is(err, ErrNotFound) && isCommit(meta.commit) {
			_ = writeAtomic(fromSlash(filepath.Join(dir, ".no_exist", meta.commit), r.file), nil)
		}
		return "", opError("download", r.String(), err)
	}
	if !isCommit(meta.commit) || !validEtag(meta.etag) {
		return "", opError("download", r.String(), fmt.Errorf(
			"the server sent no usable X-Repo-Commit (%q) or ETag (%q); is %s a Hugging Face hub?: %w",
			meta.commit, meta.etag, c.endpoint(), ErrServer))
	}
	if r.revision != meta.commit {
		if err := writeAtomic(fromSlash(filepath.Join(dir, "refs"), r.revision), []byte(meta.commit)); err != nil {
			return "", opError("download", r.String(), err)
		}
	}
	blob := filepath.Join(dir, "blobs", meta.etag)
	snap = fromSlash(filepath.Join(dir, "snapshots", meta.commit), r.file)
	if !isFile(blob) {
		if err := c.fetchBlob(ctx, r, blob, meta); err != nil {
			return "", opError("download", r.String(), err)
		}
	}
	if err := linkSnapshot(snap, blob, blobLink(r.file, meta.etag)); err != nil {
		return "", opError("download", r.String(), err)
	}
	return snap, nil
}

// fetchBlob downloads blobs/{etag} under the lock huggingface_hub uses
// (.locks/models--org--name/{etag}.lock).
func (c *Client) fetchBlob(ctx context.Context, r ref, blob string, meta fileMeta) error {
	locks := filepath.Join(c.HubCacheDir, ".locks", hubDirName(r.repo))
	if err := os.MkdirAll(locks, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(locks, meta.etag+".lock"), lockOptions{keep: true})
	if err != nil {
		return err
	}
	defer unlock()
	if isFile(blob) {
		return nil
	}
	return c.fetchFile(ctx, r.String(), meta, blob)
}

// validEtag accepts an etag usable as a blob file name.
func validEtag(e string) bool {
	if e == "" || len(e) > 128 {
		return false
	}
	for _, ch := range e {
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// linkSnapshot makes snap a symbolic link to target (relative, pointing at
// blob), replacing what is there atomically; where links cannot be made it
// copies blob instead.
func linkSnapshot(snap, blob, target string) error {
	if err := os.MkdirAll(filepath.Dir(snap), 0o755); err != nil {
		return err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := snap + ".tmp" + hex.EncodeToString(rnd[:])
	if err := os.Symlink(target, tmp); err != nil {
		if err := copyFile(blob, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, snap); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeAtomic writes data to p through a temporary file and a rename,
// creating p's folder.
func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}
