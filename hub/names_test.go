package hub

import (
	"errors"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

func TestNamesThatCouldEscapeTheCacheAreRejected(t *testing.T) {
	bad := []struct{ repo, rev, file string }{
		{"", "main", "f"},
		{"a/b/c", "main", "f"},
		{"../x", "main", "f"},
		{"org/..", "main", "f"},
		{"org/a--b", "main", "f"},
		{"org/-x", "main", "f"},
		{"org/x y", "main", "f"},
		{"org/x", "..", "f"},
		{"org/x", "a/../../b", "f"},
		{"org/x", "/abs", "f"},
		{"org/x", "main", ""},
		{"org/x", "main", "../../etc/passwd"},
		{"org/x", "main", "/etc/passwd"},
		{"org/x", "main", "a//b"},
		{"org/x", "main", `a\b`},
		{"org/x", "main", "a\x00b"},
	}
	c := &Client{FlatDir: t.TempDir(), HubCacheDir: t.TempDir()}
	for _, b := range bad {
		_, err := c.FlatPath(b.repo, b.rev, b.file)
		if !errors.Is(err, ErrInvalidName) || !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("FlatPath(%q, %q, %q): %v, want ErrInvalidName", b.repo, b.rev, b.file, err)
		}
		if _, ok := c.CachedFile(b.repo, b.rev, b.file); ok {
			t.Errorf("CachedFile(%q, %q, %q) found something", b.repo, b.rev, b.file)
		}
	}
	for _, good := range []struct{ repo, rev, file string }{
		{"gpt2", "main", "vocab.json"},
		{"microsoft/bitnet-b1.58-2B-4T", "refs/pr/1", "tokenizer.json"},
		{"1bitLLM/bitnet_b1_58-large", testCommit, "sub/tokenizer.model"},
	} {
		if _, err := c.FlatPath(good.repo, good.rev, good.file); err != nil {
			t.Errorf("FlatPath(%q, %q, %q): %v", good.repo, good.rev, good.file, err)
		}
	}
}

func TestResolveURLEscapesRevisionAsOneElement(t *testing.T) {
	r, err := newRef("org/model", "refs/pr/1", "sub dir/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	got := resolveURL("https://hub.example/", r)
	want := "https://hub.example/org/model/resolve/refs%2Fpr%2F1/sub%20dir/tokenizer.json"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if r, _ := newRef("org/model", "", "f"); r.revision != DefaultRevision {
		t.Errorf("empty revision became %q", r.revision)
	}
}

func TestBlobLinkClimbsOutOfNestedFolders(t *testing.T) {
	for file, want := range map[string]string{
		"tokenizer.json":     "../../blobs/e",
		"a/tokenizer.json":   "../../../blobs/e",
		"a/b/tokenizer.json": "../../../../blobs/e",
	} {
		if got := blobLink(file, "e"); got != want {
			t.Errorf("blobLink(%q) = %q, want %q", file, got, want)
		}
	}
}

func TestEtagsAreNormalizedAndOnlySHA256IsChecked(t *testing.T) {
	sha := "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	for _, tc := range []struct{ in, etag, sha string }{
		{`"` + sha + `"`, sha, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
		{`W/"abc"`, "abc", ""},
		{`"0123456789abcdef0123456789abcdef01234567"`, "0123456789abcdef0123456789abcdef01234567", ""},
	} {
		m := metaFrom(map[string][]string{"Etag": {tc.in}})
		if m.etag != tc.etag || m.sha256 != tc.sha {
			t.Errorf("ETag %s: etag %q sha %q, want %q %q", tc.in, m.etag, m.sha256, tc.etag, tc.sha)
		}
	}
	if validEtag("../x") || validEtag("") || !validEtag("abc-123") {
		t.Error("validEtag accepts a path or rejects a plain tag")
	}
}

func TestContentRangeStartParsing(t *testing.T) {
	for h, want := range map[string]int64{"bytes 100-199/200": 100, "bytes 0-0/1": 0} {
		if got, ok := contentRangeStart(h); !ok || got != want {
			t.Errorf("%q: %d %v", h, got, ok)
		}
	}
	for _, h := range []string{"", "bytes */200", "items 1-2/3", "bytes -5-9/10"} {
		if _, ok := contentRangeStart(h); ok {
			t.Errorf("%q accepted", h)
		}
	}
}
