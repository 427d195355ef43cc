package hub

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// DefaultRevision is the revision used when a caller passes "".
const DefaultRevision = "main"

// ref names one file of one revision of a model repository, after checking
// that every part is well formed and cannot escape a cache folder.
type ref struct {
	repo, revision, file string
}

// String formats the file as "repo@revision/file" for messages.
func (r ref) String() string { return r.repo + "@" + r.revision + "/" + r.file }

// newRef validates repo, revision ("" means DefaultRevision) and file.
func newRef(repo, revision, file string) (ref, error) {
	if revision == "" {
		revision = DefaultRevision
	}
	r := ref{repo: repo, revision: revision, file: file}
	if err := checkRepo(repo); err != nil {
		return r, err
	}
	if err := checkRelPath("revision", revision, 256); err != nil {
		return r, err
	}
	if err := checkRelPath("file name", file, 1024); err != nil {
		return r, err
	}
	return r, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w (%w)", fmt.Sprintf(format, args...), ErrInvalidName, errs.ErrInvalidArgument)
}

// checkRepo accepts "name" or "org/name" as the hub does: each part 1..96
// characters of letters, digits, '_', '-' and '.', not starting with '-' or
// '.', without "--" or ".." (which the cache layouts use as separators).
func checkRepo(repo string) error {
	parts := strings.Split(repo, "/")
	if repo == "" || len(parts) > 2 {
		return invalid("repository id %q must be \"name\" or \"org/name\"", repo)
	}
	for _, p := range parts {
		if p == "" || len(p) > 96 || p[0] == '-' || p[0] == '.' ||
			strings.Contains(p, "--") || strings.Contains(p, "..") {
			return invalid("repository id %q: bad part %q", repo, p)
		}
		for _, c := range p {
			ok := c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !ok {
				return invalid("repository id %q: character %q not allowed", repo, c)
			}
		}
	}
	return nil
}

// checkRelPath accepts a relative slash-separated path without empty, "."
// or ".." elements, backslashes or control characters.
func checkRelPath(what, p string, maxLen int) error {
	if p == "" || len(p) > maxLen {
		return invalid("%s %q: empty or longer than %d bytes", what, p, maxLen)
	}
	if strings.ContainsAny(p, "\\") || strings.HasPrefix(p, "/") {
		return invalid("%s %q: must be a relative path with '/' separators", what, p)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return invalid("%s %q: control character", what, p)
		}
	}
	for _, e := range strings.Split(p, "/") {
		if e == "" || e == "." || e == ".." {
			return invalid("%s %q: empty, \".\" or \"..\" element", what, p)
		}
	}
	return nil
}

// isCommit reports whether revision is a full commit hash (40 hex digits).
func isCommit(revision string) bool {
	if len(revision) != 40 {
		return false
	}
	for _, c := range revision {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// resolveURL is {endpoint}/{repo}/resolve/{revision}/{file}, with the
// revision escaped as one path element (so "refs/pr/1" becomes
// "refs%2Fpr%2F1", as huggingface_hub does).
func resolveURL(endpoint string, r ref) string {
	return strings.TrimRight(endpoint, "/") + "/" + escapePath(r.repo) + "/resolve/" +
		url.PathEscape(r.revision) + "/" + escapePath(r.file)
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// flatDirName is the flat cache's folder name of a repository: "org--name".
func flatDirName(repo string) string { return strings.ReplaceAll(repo, "/", "--") }

// hubDirName is the Hugging Face cache's folder of a model repository:
// "models--org--name".
func hubDirName(repo string) string { return "models--" + flatDirName(repo) }

// fromSlash joins a validated slash path below dir.
func fromSlash(dir, p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }

// blobLink is the relative symlink target from snapshots/{commit}/{file} to
// blobs/{etag}: one ".." per element of the file's folder, plus two.
func blobLink(file, etag string) string {
	up := strings.Repeat("../", strings.Count(path.Clean(file), "/")+2)
	return filepath.FromSlash(up + "blobs/" + etag)
}
