package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Lock polling and staleness settings.
const (
	lockPollMin = 10 * time.Millisecond
	lockPollMax = 250 * time.Millisecond
	// exclStale is the age after which an O_EXCL lock file whose holder
	// stopped refreshing it counts as left behind by a dead process.
	exclStale = 2 * time.Minute
)

// lockOptions says how a lock file is handled.
type lockOptions struct {
	// keep leaves the lock file in place on release. The Hugging Face cache
	// needs it: Python's filelock also locks these files and does not
	// expect them to disappear.
	keep bool
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func nextPoll(d time.Duration) time.Duration { return min(2*d, lockPollMax) }

// lockExcl is the portable lock: the holder is whoever created path with
// O_EXCL. The holder refreshes the file's time; a waiter removes a file
// older than stale (its holder died) and tries again.
func lockExcl(ctx context.Context, path string, stale time.Duration) (unlock func(), err error) {
	for poll := lockPollMin; ; poll = nextPoll(poll) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				tick := time.NewTicker(stale / 4)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case now := <-tick.C:
						_ = os.Chtimes(path, now, now)
					}
				}
			}()
			return func() {
				close(stop)
				<-done
				os.Remove(path)
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > stale {
			os.Remove(path)
			continue
		}
		if err := sleepCtx(ctx, poll); err != nil {
			return nil, fmt.Errorf("waiting for lock %s: %w", path, err)
		}
	}
}
