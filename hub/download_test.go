package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bitnet-dev/bitnet/errs"
)

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noLeftovers fails when the folder of p holds partial or lock files.
func noLeftovers(t *testing.T, p string) {
	t.Helper()
	for _, suffix := range []string{".incomplete", ".lock"} {
		if _, err := os.Stat(p + suffix); err == nil {
			t.Errorf("%s%s left behind", p, suffix)
		}
	}
}

func TestDownloadWritesFileAndReportsProgress(t *testing.T) {
	for _, lfs := range []bool{false, true} {
		h := newFakeHub(t)
		data := payload(200_000)
		h.add("org/model", "tokenizer.json", data, lfs)
		c := h.client()
		var last, total int64 = -1, -2
		c.Progress = func(done, tot int64, file string) {
			if done < last {
				t.Errorf("lfs=%v: progress went back from %d to %d", lfs, last, done)
			}
			last, total = done, tot
			if file != "org/model@main/tokenizer.json" {
				t.Errorf("progress file name %q", file)
			}
		}
		dest := filepath.Join(t.TempDir(), "out", "tokenizer.json")
		if err := c.Download(context.Background(), "org/model", "", "tokenizer.json", dest); err != nil {
			t.Fatalf("lfs=%v: %v", lfs, err)
		}
		if !bytes.Equal(readFile(t, dest), data) {
			t.Errorf("lfs=%v: downloaded content differs", lfs)
		}
		if last != int64(len(data)) || total != int64(len(data)) {
			t.Errorf("lfs=%v: last progress %d/%d, want %d/%d", lfs, last, total, len(data), len(data))
		}
		noLeftovers(t, dest)
	}
}

func TestFlatFileSecondCallMakesNoRequest(t *testing.T) {
	h := newFakeHub(t)
	data := payload(5000)
	h.add("org/model", "tokenizer.model", data, true)
	c := h.client()
	p1, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(c.FlatDir, "org--model", "main", "tokenizer.model")
	if p1 != want {
		t.Errorf("path %s, want %s", p1, want)
	}
	n := len(h.requests())
	h.close() // a cache hit must not need the server
	p2, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.model")
	if err != nil || p2 != p1 {
		t.Fatalf("second call: %q, %v", p2, err)
	}
	if got := len(h.requests()); got != n {
		t.Errorf("cache hit made %d requests", got-n)
	}
	if !bytes.Equal(readFile(t, p2), data) {
		t.Error("cached content differs")
	}
	if p, ok := c.CachedFile("org/model", "", "tokenizer.model"); !ok || p != p1 {
		t.Errorf("CachedFile = %q, %v", p, ok)
	}
}

func TestDownloadResumesWithRangeAfterDroppedConnection(t *testing.T) {
	for _, lfs := range []bool{false, true} {
		h := newFakeHub(t)
		data := payload(300_000)
		h.add("org/model", "tokenizer.json", data, lfs)
		h.set(func(h *fakeHub) {
			h.onGet = func(n int, w http.ResponseWriter, r *http.Request, d []byte) bool {
				if n == 1 {
					dropAfter(w, r, d, 100_000)
					return true
				}
				return false
			}
		})
		c := h.client()
		dest := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := c.Download(context.Background(), "org/model", "main", "tokenizer.json", dest); err != nil {
			t.Fatalf("lfs=%v: %v", lfs, err)
		}
		if !bytes.Equal(readFile(t, dest), data) {
			t.Errorf("lfs=%v: content differs after resume", lfs)
		}
		var ranges []string
		for _, e := range h.requests() {
			if e.method == http.MethodGet {
				ranges = append(ranges, e.rangeHdr)
			}
		}
		if len(ranges) != 2 || ranges[0] != "" || ranges[1] != "bytes=100000-" {
			t.Errorf("lfs=%v: GET Range headers %q, want [\"\" \"bytes=100000-\"]", lfs, ranges)
		}
		noLeftovers(t, dest)
	}
}

func TestDownloadResumesPartialFileLeftByEarlierRun(t *testing.T) {
	h := newFakeHub(t)
	data := payload(50_000)
	h.add("org/model", "tokenizer.model", data, true)
	h.set(func(h *fakeHub) {
		h.onGet = func(n int, w http.ResponseWriter, r *http.Request, d []byte) bool {
			if n == 1 {
				dropAfter(w, r, d, 12_345)
				return true
			}
			return false
		}
	})
	c := h.client()
	c.Retries = -1
	dest := filepath.Join(t.TempDir(), "tokenizer.model")
	err := c.Download(context.Background(), "org/model", "main", "tokenizer.model", dest)
	if !errors.Is(err, ErrNetwork) {
		t.Fatalf("dropped connection without retries: %v, want ErrNetwork", err)
	}
	if errs.CodeOf(err) != errs.CodeIO {
		t.Errorf("CodeOf = %v, want CodeIO", errs.CodeOf(err))
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("final file exists after a failed download")
	}
	if st, err := os.Stat(dest + ".incomplete"); err != nil || st.Size() != 12_345 {
		t.Fatalf("partial file: %v, %v", st, err)
	}
	if err := c.Download(context.Background(), "org/model", "main", "tokenizer.model", dest); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, dest), data) {
		t.Error("content differs after resume")
	}
	reqs := h.requests()
	if last := reqs[len(reqs)-1]; last.method != http.MethodGet || last.rangeHdr != "bytes=12345-" {
		t.Errorf("resuming request %+v, want GET with Range bytes=12345-", last)
	}
}

func TestDownloadNotFoundWrapsErrNotFound(t *testing.T) {
	h := newFakeHub(t)
	c := h.client()
	dest := filepath.Join(t.TempDir(), "x.json")
	err := c.Download(context.Background(), "org/model", "main", "missing.json", dest)
	if !errors.Is(err, ErrNotFound) || errs.CodeOf(err) != errs.CodeIO {
		t.Fatalf("err %v (code %v), want ErrNotFound and CodeIO", err, errs.CodeOf(err))
	}
	if !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("error %q does not name the file", err)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("file created for a 404")
	}
	noLeftovers(t, dest)
}

func TestServerErrorsAreRetriedThenSucceed(t *testing.T) {
	h := newFakeHub(t)
	data := payload(1000)
	h.add("org/model", "config.json", data, false)
	h.set(func(h *fakeHub) {
		h.onGet = func(n int, w http.ResponseWriter, r *http.Request, d []byte) bool {
			if n <= 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return true
			}
			return false
		}
	})
	c := h.client()
	dest := filepath.Join(t.TempDir(), "config.json")
	if err := c.Download(context.Background(), "org/model", "main", "config.json", dest); err != nil {
		t.Fatal(err)
	}
	if got := h.count(http.MethodGet); got != 3 {
		t.Errorf("%d GETs, want 3 (two 503s, then success)", got)
	}
	if !bytes.Equal(readFile(t, dest), data) {
		t.Error("content differs")
	}
}

func TestServerErrorForeverGivesErrServer(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/model", "config.json", payload(10), false)
	h.set(func(h *fakeHub) {
		h.onGet = func(n int, w http.ResponseWriter, r *http.Request, d []byte) bool {
			http.Error(w, "broken", http.StatusInternalServerError)
			return true
		}
	})
	c := h.client()
	c.Retries = 3
	dest := filepath.Join(t.TempDir(), "config.json")
	err := c.Download(context.Background(), "org/model", "main", "config.json", dest)
	if !errors.Is(err, ErrServer) || errs.CodeOf(err) != errs.CodeIO {
		t.Fatalf("err %v, want ErrServer with CodeIO", err)
	}
	if got := h.count(http.MethodGet); got != 4 {
		t.Errorf("%d GETs, want 4 (1 + 3 retries)", got)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("file created")
	}
}

func TestHeadServerErrorIsRetried(t *testing.T) {
	h := newFakeHub(t)
	data := payload(64)
	h.add("org/model", "config.json", data, false)
	h.set(func(h *fakeHub) {
		h.onHead = func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n <= 2 {
				http.Error(w, "busy", http.StatusBadGateway)
				return true
			}
			return false
		}
	})
	c := h.client()
	dest := filepath.Join(t.TempDir(), "config.json")
	if err := c.Download(context.Background(), "org/model", "main", "config.json", dest); err != nil {
		t.Fatal(err)
	}
	if got := h.count(http.MethodHead); got != 3 {
		t.Errorf("%d HEADs, want 3", got)
	}
}

func TestChecksumMismatchLeavesNothingInCache(t *testing.T) {
	h := newFakeHub(t)
	data := payload(40_000)
	h.add("org/model", "tokenizer.model", data, true)
	h.mu.Lock()
	f := h.files["org/model/tokenizer.model"]
	good := f.sha256
	f.data = append([]byte(nil), data...)
	f.data[1234] ^= 0xff // the CDN serves corrupt bytes under the good hash
	h.files["org/model/tokenizer.model"] = f
	h.mu.Unlock()
	// The CDN looks blobs up by their announced hash, so it still finds it.
	c := h.client()
	p, _ := c.FlatPath("org/model", "main", "tokenizer.model")
	_, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.model")
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), good) {
		t.Fatalf("err %v, want ErrChecksum naming the announced hash", err)
	}
	for _, q := range []string{p, p + ".incomplete"} {
		if _, err := os.Stat(q); err == nil {
			t.Errorf("%s left in the cache", q)
		}
	}

	// A partial file with wrong bytes (a corrupt earlier run) is resumed,
	// fails the hash, and is discarded; the next download is correct.
	h.add("org/model", "tokenizer.model", data, true)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".incomplete", bytes.Repeat([]byte{7}, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.model"); !errors.Is(err, ErrChecksum) {
		t.Fatalf("resumed corrupt partial file: %v, want ErrChecksum", err)
	}
	if _, err := os.Stat(p + ".incomplete"); err == nil {
		t.Error("corrupt partial file kept")
	}
	got, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(readFile(t, got))
	if hex.EncodeToString(sum[:]) != good {
		t.Error("third download is not the right file")
	}
}

func TestPartialFileLongerThanAnnouncedIsDiscarded(t *testing.T) {
	h := newFakeHub(t)
	data := payload(1000)
	h.add("org/model", "tokenizer.json", data, true)
	c := h.client()
	dest := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(dest+".incomplete", payload(5000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Download(context.Background(), "org/model", "main", "tokenizer.json", dest); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, dest), data) {
		t.Error("content differs")
	}
	for _, e := range h.requests() {
		if e.rangeHdr != "" {
			t.Errorf("request %+v resumed from an oversized partial file", e)
		}
	}
}

func TestStalledTransferIsAbortedAndResumed(t *testing.T) {
	h := newFakeHub(t)
	data := payload(10_000)
	h.add("org/model", "tokenizer.json", data, true)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	h.set(func(h *fakeHub) {
		h.onGet = func(n int, w http.ResponseWriter, r *http.Request, d []byte) bool {
			if n != 1 {
				return false
			}
			w.Header().Set("Content-Length", "10000")
			w.Write(d[:4000])
			w.(http.Flusher).Flush()
			select { // hang until the client gives up or the test ends
			case <-r.Context().Done():
			case <-release:
			}
			return true
		}
	})
	c := h.client()
	c.StallTimeout = 200 * time.Millisecond
	dest := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := c.Download(context.Background(), "org/model", "main", "tokenizer.json", dest); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, dest), data) {
		t.Error("content differs")
	}
	reqs := h.requests()
	if last := reqs[len(reqs)-1]; last.rangeHdr != "bytes=4000-" {
		t.Errorf("request after the stall %+v, want Range bytes=4000-", last)
	}
}

func TestCanceledContextStopsDownload(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/model", "config.json", payload(10), false)
	c := h.client()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Download(ctx, "org/model", "main", "config.json", filepath.Join(t.TempDir(), "c.json"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
