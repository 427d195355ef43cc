//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on path, creating it, and waits
// (polling, so ctx can cancel) while another goroutine or process holds it.
// Unless opts.keep, the holder removes the file before releasing it, and a
// waiter that then gets the lock on the removed file tries again on a fresh
// one.
func lockFile(ctx context.Context, path string, opts lockOptions) (unlock func(), err error) {
	for poll := lockPollMin; ; {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if !opts.keep && !samePath(f, path) {
				f.Close() // removed by its previous holder
				continue
			}
			return func() {
				if !opts.keep {
					os.Remove(path)
				}
				f.Close() // releases the lock
			}, nil
		}
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			if errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) {
				return lockExcl(ctx, path+".excl", exclStale) // file system without flock
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := sleepCtx(ctx, poll); err != nil {
			return nil, fmt.Errorf("waiting for lock %s: %w", path, err)
		}
		poll = nextPoll(poll)
	}
}

// samePath reports whether the open file f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
