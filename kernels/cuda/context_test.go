package cuda

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bitnet-dev/bitnet/errs"
)

// fakeContext starts a Context whose thread runs no driver call, to test
// the thread machinery without a GPU. shut counts its calls.
func fakeContext(t *testing.T, shut *atomic.Int32) *Context {
	t.Helper()
	if threadID() == 0 {
		t.Skip("this build has no thread identity (no cgo)")
	}
	c, err := startContext(DeviceInfo{Index: 7}, func() error { return nil }, func() error {
		shut.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// within fails the test if f does not return in time (a deadlock).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running after 10 s (deadlock?)", what)
	}
}

func TestContextRunsEveryCallOnItsOwnThread(t *testing.T) {
	var shut atomic.Int32
	c := fakeContext(t, &shut)
	defer c.Close()
	var wrong, calls atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				err := c.Do(func() error {
					calls.Add(1)
					if threadID() != c.tid {
						wrong.Add(1)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	within(t, "concurrent Do", wg.Wait)
	if calls.Load() != 400 || wrong.Load() != 0 {
		t.Errorf("%d calls, %d off the context's thread", calls.Load(), wrong.Load())
	}
	if threadID() == c.tid {
		t.Error("the test goroutine shares the context's thread")
	}
}

func TestContextDoIsReentrant(t *testing.T) {
	var shut atomic.Int32
	c := fakeContext(t, &shut)
	defer c.Close()
	depth := 0
	within(t, "nested Do", func() {
		err := c.Do(func() error {
			depth++
			return c.Do(func() error {
				depth++
				return c.Do(func() error {
					depth++
					if threadID() != c.tid {
						return errors.New("nested call off the thread")
					}
					return nil
				})
			})
		})
		if err != nil {
			t.Error(err)
		}
	})
	if depth != 3 {
		t.Errorf("depth %d, want 3", depth)
	}
	want := errors.New("inner")
	if err := c.Do(func() error { return c.Do(func() error { return want }) }); err != want {
		t.Errorf("inner error %v, want %v", err, want)
	}
}

func TestContextTurnsPanicsIntoErrorsAndSurvives(t *testing.T) {
	var shut atomic.Int32
	c := fakeContext(t, &shut)
	defer c.Close()
	err := c.Do(func() error { panic("boom") })
	if !errors.Is(err, errs.ErrInternal) {
		t.Errorf("panic gave %v, want errs.ErrInternal", err)
	}
	if err := c.Do(func() error { return nil }); err != nil {
		t.Errorf("after a panic: %v", err)
	}
}

func TestContextCloseIsFinalAndIdempotent(t *testing.T) {
	var shut atomic.Int32
	c := fakeContext(t, &shut)
	if err := c.Do(func() error { return c.Close() }); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Close inside Do: %v, want errs.ErrInvalidArgument", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := shut.Load(); n != 1 {
		t.Errorf("shut ran %d times, want 1", n)
	}
	if err := c.Do(func() error { return nil }); !errors.Is(err, errs.ErrClosed) {
		t.Errorf("Do after Close: %v, want errs.ErrClosed", err)
	}
	if _, err := c.Alloc(16); !errors.Is(err, errs.ErrClosed) {
		t.Errorf("Alloc after Close: %v, want errs.ErrClosed", err)
	}
}

func TestContextOpenFailureIsReturned(t *testing.T) {
	want := errors.New("no context")
	c, err := startContext(DeviceInfo{}, func() error { return want }, func() error { return nil })
	if c != nil || err != want {
		t.Errorf("startContext = %v, %v; want nil, %v", c, err, want)
	}
}

func TestContextMethodsCheckArgumentsBeforeTheDriver(t *testing.T) {
	var shut atomic.Int32
	c := fakeContext(t, &shut)
	defer c.Close()
	b := Buffer{Ptr: 0x1000, Size: 64}
	var x [32]float32
	for name, err := range map[string]error{
		"Alloc(0)":          func() error { _, err := c.Alloc(0); return err }(),
		"Upload past end":   c.UploadFloat32(b, x[:]),
		"Download past end": c.DownloadFloat32(x[:], b),
		"Upload nil":        c.Upload(b, 0, nil, 4),
		"Memset null":       c.Memset(Buffer{}, 0),
		"LoadModule empty":  func() error { _, err := c.LoadModule(nil); return err }(),
		"AllocFloat32 init": func() error { _, err := c.AllocFloat32(2, x[:3]); return err }(),
	} {
		if !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want errs.ErrInvalidArgument", name, err)
		}
	}
	if err := c.Free(Buffer{}); err != nil {
		t.Errorf("Free of the zero Buffer: %v", err)
	}
}
