// Package testassets locates the shared, read-only test assets (real models,
// tokenizers, golden outputs) for the tests of every package.
//
// The assets live outside the repository, in ../shared/assets relative to
// the repository root (the directory holding go.mod). The environment
// variable BITNET_SHARED_DIR, when set, names the shared folder instead (the
// assets are then in $BITNET_SHARED_DIR/assets). When the assets are
// missing, tests are skipped, unless BITNET_REQUIRE_ASSETS=1, which makes
// them fail (CI sets it so that a broken checkout cannot pass silently).
package testassets

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// Environment variables read by this package (test support only).
const (
	EnvSharedDir     = "BITNET_SHARED_DIR"
	EnvRequireAssets = "BITNET_REQUIRE_ASSETS"
)

// SumsFile is the name of the checksum list in the assets folder, in
// sha256sum's format ("<hex>  ./<relative path>").
const SumsFile = "SHA256SUMS"

// errMissing marks assets that are absent (skip) as opposed to wrong (fail).
var errMissing = errors.New("test assets missing")

// Dir returns the absolute path of the shared assets folder. It skips the
// test when the folder is missing, or fails it when BITNET_REQUIRE_ASSETS=1.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := locate()
	if err != nil {
		missing(t, err)
	}
	return dir
}

// Path returns the absolute path of the asset rel (a slash-separated path
// inside the assets folder, such as "gguf/stories260K-f32.gguf") after
// checking its SHA-256 against SHA256SUMS, so a test knows it reads the file
// it expects. A missing file skips the test (or fails it under
// BITNET_REQUIRE_ASSETS=1); a file absent from SHA256SUMS or with another
// hash fails it.
func Path(t testing.TB, rel string) string {
	t.Helper()
	dir := Dir(t)
	p, err := verify(dir, rel)
	switch {
	case errors.Is(err, errMissing):
		missing(t, err)
	case err != nil:
		t.Fatalf("testassets: %v", err)
	}
	return p
}

func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvRequireAssets) == "1" {
		t.Fatalf("testassets: %v (%s=1)", err, EnvRequireAssets)
	}
	t.Skipf("testassets: %v; skipping (set %s=1 to fail instead)", err, EnvRequireAssets)
}

// locate finds the assets folder from the environment or from the working
// directory (go test runs in the package directory).
func locate() (string, error) {
	if shared := os.Getenv(EnvSharedDir); shared != "" {
		return checkDir(filepath.Join(shared, "assets"), EnvSharedDir+"="+shared)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: working directory: %v", errMissing, err)
	}
	root, err := repoRoot(wd)
	if err != nil {
		return "", err
	}
	return checkDir(filepath.Join(root, "..", "shared", "assets"), "repository root "+root)
}

// repoRoot walks up from dir to the first folder holding go.mod.
func repoRoot(dir string) (string, error) {
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && st.Mode().IsRegular() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w: no go.mod above %s", errMissing, dir)
		}
		d = parent
	}
}

func checkDir(dir, from string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", errMissing, dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("%w: no assets folder at %s (from %s)", errMissing, abs, from)
	}
	return abs, nil
}

// verify checks rel against the checksum list of the assets folder dir and
// returns its absolute path.
func verify(dir, rel string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(filepath.ToSlash(rel), "./"))
	if clean == "." || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("asset path %q must be relative and inside the assets folder", rel)
	}
	sums, err := readSums(filepath.Join(dir, SumsFile))
	if err != nil {
		return "", err
	}
	want, ok := sums[clean]
	if !ok {
		return "", fmt.Errorf("asset %q is not listed in %s", clean, filepath.Join(dir, SumsFile))
	}
	p := filepath.Join(dir, filepath.FromSlash(clean))
	got, err := fileSHA256(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s", errMissing, p)
	}
	if err != nil {
		return "", err
	}
	if got != want {
		return "", fmt.Errorf("asset %s: sha256 %s, %s lists %s (wrong or modified file)", p, got, SumsFile, want)
	}
	return p, nil
}

// readSums parses sha256sum output into relative path -> lower-case hex.
func readSums(file string) (map[string]string, error) {
	fh, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", errMissing, file)
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		hash, name, ok := strings.Cut(text, " ")
		name = strings.TrimPrefix(strings.TrimLeft(name, " *"), "./")
		if _, err := hex.DecodeString(hash); !ok || err != nil || len(hash) != 2*sha256.Size || name == "" {
			return nil, fmt.Errorf("%s:%d: malformed line %q", file, line, text)
		}
		sums[path.Clean(name)] = strings.ToLower(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return sums, nil
}

func fileSHA256(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
