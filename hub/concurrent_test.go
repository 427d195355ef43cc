package hub

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentFlatFileDownloadsOnce(t *testing.T) {
	h := newFakeHub(t)
	data := payload(100_000)
	h.add("org/model", "tokenizer.json", data, true)
	h.set(func(h *fakeHub) { h.bodyDelay = 100 * time.Millisecond })
	c := h.client()
	const n = 8
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = c.FlatFile(context.Background(), "org/model", "main", "tokenizer.json")
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("goroutine %d: %q, %v", i, paths[i], errs[i])
		}
	}
	if !bytes.Equal(readFile(t, paths[0]), data) {
		t.Error("content differs")
	}
	if got := h.count(http.MethodGet); got != 1 {
		t.Errorf("%d GETs, want 1 (the others wait for the lock and reuse the file)", got)
	}
	noLeftovers(t, paths[0])
}

func TestConcurrentHubFileDownloadsOnce(t *testing.T) {
	h := newFakeHub(t)
	data := payload(100_000)
	h.add("org/model", "tokenizer.model", data, true)
	h.set(func(h *fakeHub) { h.bodyDelay = 100 * time.Millisecond })
	c := h.client()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.HubFile(context.Background(), "org/model", "main", "tokenizer.model")
			if err != nil || !bytes.Equal(readFile(t, p), data) {
				t.Errorf("HubFile: %q, %v", p, err)
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := h.count(http.MethodGet); got != 1 && failed.Load() == 0 {
		t.Errorf("%d GETs, want 1", got)
	}
}

// Environment of the child processes of TestTwoProcessesDownloadOneFile.
const (
	childEndpoint = "BITNET_HUB_TEST_CHILD_ENDPOINT"
	childFlatDir  = "BITNET_HUB_TEST_CHILD_FLATDIR"
)

// TestHelperProcessFlatFile is not a test: TestTwoProcessesDownloadOneFile
// runs the test binary with only this function selected and the variables
// above set, to get a second process downloading the same file.
func TestHelperProcessFlatFile(t *testing.T) {
	endpoint := os.Getenv(childEndpoint)
	if endpoint == "" {
		t.Skip("helper process for TestTwoProcessesDownloadOneFile")
	}
	c := &Client{Endpoint: endpoint, FlatDir: os.Getenv(childFlatDir), RetryDelay: time.Millisecond}
	p, err := c.FlatFile(context.Background(), "org/model", "main", "tokenizer.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(p)
}

func TestTwoProcessesDownloadOneFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	h := newFakeHub(t)
	data := payload(200_000)
	h.add("org/model", "tokenizer.json", data, true)
	h.set(func(h *fakeHub) { h.bodyDelay = 300 * time.Millisecond })
	flat := filepath.Join(t.TempDir(), "tokenizers")
	outs := make([]bytes.Buffer, 2)
	cmds := make([]*exec.Cmd, 2)
	for i := range cmds {
		cmd := exec.Command(exe, "-test.run=^TestHelperProcessFlatFile$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEndpoint+"="+h.srv.URL, childFlatDir+"="+flat)
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i].String())
		}
	}
	p := filepath.Join(flat, "org--model", "main", "tokenizer.json")
	if !bytes.Equal(readFile(t, p), data) {
		t.Error("content differs")
	}
	if got := h.count(http.MethodGet); got != 1 {
		t.Errorf("%d GETs from two processes, want 1", got)
	}
	noLeftovers(t, p)
}

func TestLockFileSerializesHolders(t *testing.T) {
	for _, tc := range []struct {
		name string
		lock func(ctx context.Context, p string) (func(), error)
	}{
		{"flock", func(ctx context.Context, p string) (func(), error) { return lockFile(ctx, p, lockOptions{}) }},
		{"flock-keep", func(ctx context.Context, p string) (func(), error) {
			return lockFile(ctx, p, lockOptions{keep: true})
		}},
		{"excl", func(ctx context.Context, p string) (func(), error) { return lockExcl(ctx, p, time.Minute) }},
	} {
		p := filepath.Join(t.TempDir(), "x.lock")
		var inside, maxInside atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unlock, err := tc.lock(context.Background(), p)
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					return
				}
				if v := inside.Add(1); v > maxInside.Load() {
					maxInside.Store(v)
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				unlock()
			}()
		}
		wg.Wait()
		if maxInside.Load() != 1 {
			t.Errorf("%s: %d holders at once", tc.name, maxInside.Load())
		}
	}
}

func TestLockWaitIsCanceledByContext(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), p, lockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, p, lockOptions{}); err == nil {
		t.Error("second lock acquired while held")
	}
	if _, err := lockExcl(ctx, p+".excl-held", time.Minute); err != nil {
		t.Fatal(err) // free: acquired at once
	}
	if _, err := lockExcl(ctx, p+".excl-held", time.Minute); err == nil {
		t.Error("second O_EXCL lock acquired while held")
	}
}

func TestExclLockBreaksStaleLockFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	if err := os.WriteFile(p, []byte("99999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := lockExcl(ctx, p, time.Minute)
	if err != nil {
		t.Fatalf("stale lock not broken: %v", err)
	}
	unlock()
	if _, err := os.Stat(p); err == nil {
		t.Error("lock file left after release")
	}
}
