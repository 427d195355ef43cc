package testassets

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how Dir and Path end a test instead of ending the real one.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = format
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = true
	f.msg = format
	runtime.Goexit()
}

// run calls fn with a fake TB in its own goroutine (Goexit ends only that).
func run(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

// fakeShared builds a shared folder holding assets/<name> with content and a
// SHA256SUMS line whose hash is sum (the real hash when sum is "").
func fakeShared(t *testing.T, name, content, sum string) string {
	t.Helper()
	shared := t.TempDir()
	assets := filepath.Join(shared, "assets")
	if err := os.MkdirAll(filepath.Join(assets, filepath.Dir(name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(assets, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum == "" {
		h := sha256.Sum256([]byte(content))
		sum = hex.EncodeToString(h[:])
	}
	list := sum + "  ./" + name + "\n" + strings.Repeat("0", 64) + "  ./absent/file.bin\n"
	if err := os.WriteFile(filepath.Join(assets, SumsFile), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	return shared
}

func TestPathFindsAndVerifiesRealAsset(t *testing.T) {
	p := Path(t, "gguf/stories260K-f32.gguf")
	if !filepath.IsAbs(p) || !strings.HasSuffix(filepath.ToSlash(p), "/assets/gguf/stories260K-f32.gguf") {
		t.Fatalf("Path = %q", p)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	if p2 := Path(t, "./gguf/stories260K-f32.gguf"); p2 != p {
		t.Fatalf("Path with ./ prefix = %q, want %q", p2, p)
	}
}

func TestDirHonoursSharedDirEnv(t *testing.T) {
	shared := fakeShared(t, "x/a.bin", "hello", "")
	t.Setenv(EnvSharedDir, shared)
	want := filepath.Join(shared, "assets")
	if got := Dir(t); got != want {
		t.Fatalf("Dir = %q, want %q", got, want)
	}
	if got := Path(t, "x/a.bin"); got != filepath.Join(want, "x", "a.bin") {
		t.Fatalf("Path = %q", got)
	}
}

func TestPathFailsOnHashMismatch(t *testing.T) {
	t.Setenv(EnvSharedDir, fakeShared(t, "a.bin", "hello", strings.Repeat("ab", 32)))
	t.Setenv(EnvRequireAssets, "")
	f := run(t, func(tb testing.TB) { Path(tb, "a.bin") })
	if !f.failed || f.skipped {
		t.Fatalf("hash mismatch: failed=%v skipped=%v, want a failure", f.failed, f.skipped)
	}
	if _, err := verify(filepath.Join(os.Getenv(EnvSharedDir), "assets"), "a.bin"); err == nil || !strings.Contains(err.Error(), "wrong or modified") {
		t.Fatalf("verify error = %v, want a hash mismatch", err)
	}
}

func TestPathFailsOnUnlistedOrEscapingName(t *testing.T) {
	t.Setenv(EnvSharedDir, fakeShared(t, "a.bin", "hello", ""))
	for _, rel := range []string{"b.bin", "../a.bin", "/etc/passwd", "."} {
		f := run(t, func(tb testing.TB) { Path(tb, rel) })
		if !f.failed {
			t.Errorf("Path(%q): failed=%v skipped=%v, want a failure", rel, f.failed, f.skipped)
		}
	}
}

func TestMissingAssetSkipsUnlessRequired(t *testing.T) {
	shared := fakeShared(t, "a.bin", "hello", "")
	t.Setenv(EnvSharedDir, shared)
	for _, tc := range []struct {
		name, rel, require string
		wantSkip           bool
	}{
		{"listed file absent", "absent/file.bin", "", true},
		{"listed file absent, required", "absent/file.bin", "1", false},
	} {
		t.Setenv(EnvRequireAssets, tc.require)
		f := run(t, func(tb testing.TB) { Path(tb, tc.rel) })
		if f.skipped != tc.wantSkip || f.failed == tc.wantSkip {
			t.Errorf("%s: skipped=%v failed=%v, want skip=%v", tc.name, f.skipped, f.failed, tc.wantSkip)
		}
	}

	t.Setenv(EnvSharedDir, filepath.Join(shared, "nowhere"))
	t.Setenv(EnvRequireAssets, "")
	if f := run(t, func(tb testing.TB) { Dir(tb) }); !f.skipped {
		t.Errorf("missing folder: skipped=%v failed=%v, want a skip", f.skipped, f.failed)
	}
	t.Setenv(EnvRequireAssets, "1")
	if f := run(t, func(tb testing.TB) { Dir(tb) }); !f.failed {
		t.Errorf("missing folder, required: skipped=%v failed=%v, want a failure", f.skipped, f.failed)
	}
	if _, err := locate(); !errors.Is(err, errMissing) {
		t.Errorf("locate error = %v, want errMissing", err)
	}
}

func TestRepoRootFindsGoMod(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := repoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repoRoot = %q without go.mod", root)
	}
	if rel, _ := filepath.Rel(root, wd); rel != filepath.Join("internal", "testassets") {
		t.Fatalf("repoRoot = %q for %q", root, wd)
	}
}

func TestReadSumsRejectsMalformedLines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, SumsFile)
	if err := os.WriteFile(file, []byte("nothex  ./a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readSums(file); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("readSums error = %v, want malformed", err)
	}
}
