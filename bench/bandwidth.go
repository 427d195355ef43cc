package bench

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/bitnet-dev/bitnet/errs"
)

// Bandwidth is the result of a memory read-bandwidth probe at one thread
// count.
type Bandwidth struct {
	Threads int `json:"threads"`
	// GBps is the best of Passes passes, in 1e9 bytes per second.
	GBps   float64 `json:"gb_per_second"`
	Bytes  int64   `json:"buffer_bytes"`
	Passes int     `json:"passes"`
}

// ProbeBandwidth measures how fast threads goroutines (each on its own OS
// thread) read a buffer of size bytes, split into one contiguous part per
// thread, and returns the best of passes passes for each thread count in
// threads. The buffer should be much larger than the last-level cache
// (1 GiB is the default of the bench command) for the figure to be the
// memory's, not a cache's.
func ProbeBandwidth(size int64, passes int, threads []int) ([]Bandwidth, error) {
	if size < 64 || passes < 1 {
		return nil, fmt.Errorf("bandwidth probe: buffer of %d bytes, %d passes: %w", size, passes, errs.ErrInvalidArgument)
	}
	for _, t := range threads {
		if t < 1 {
			return nil, fmt.Errorf("bandwidth probe: %d threads: %w", t, errs.ErrInvalidArgument)
		}
	}
	buf := make([]uint64, size/8)
	// Write every word: untouched pages of a fresh allocation all map the
	// kernel's one zero page, which would be read from the cache.
	for i := range buf {
		buf[i] = uint64(i)
	}
	n := uint64(len(buf))
	want := n / 2 * (n - 1) // sum of 0..n-1 (n is even), wrapping like the sum
	if n%2 == 1 {
		want = (n - 1) / 2 * n
	}
	out := make([]Bandwidth, 0, len(threads))
	for _, t := range threads {
		best := 0.0
		for range passes {
			d, sum := readParallel(buf, t)
			// Checking the sum both uses it (so the loads stay) and
			// checks that every word was read once.
			if sum != want {
				return nil, fmt.Errorf("bandwidth probe: checksum %d, want %d: %w", sum, want, errs.ErrNumeric)
			}
			if gb := float64(len(buf)*8) / d.Seconds() / 1e9; gb > best {
				best = gb
			}
		}
		out = append(out, Bandwidth{Threads: t, GBps: best, Bytes: int64(len(buf)) * 8, Passes: passes})
	}
	return out, nil
}

// readParallel sums buf with threads goroutines and returns the time from
// their common start to the last one's end, and the sum.
func readParallel(buf []uint64, threads int) (time.Duration, uint64) {
	threads = min(threads, max(len(buf)/8, 1))
	sums := make([]uint64, threads)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(threads)
	done.Add(threads)
	chunk := (len(buf) + threads - 1) / threads
	for i := range threads {
		part := buf[min(i*chunk, len(buf)):min((i+1)*chunk, len(buf))]
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer done.Done()
			ready.Done()
			<-start
			sums[i] = SumWords(part)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	d := time.Since(t0)
	var total uint64
	for _, s := range sums {
		total += s
	}
	return d, total
}

// SumWords returns the wrapping sum of b. It is the read loop of the
// bandwidth probe: eight independent accumulators so that the loads, not
// the adds, bound its speed; the result is used, so the loads cannot be
// removed.
func SumWords(b []uint64) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	for len(b) >= 8 {
		w := b[:8:8]
		s0 += w[0]
		s1 += w[1]
		s2 += w[2]
		s3 += w[3]
		s4 += w[4]
		s5 += w[5]
		s6 += w[6]
		s7 += w[7]
		b = b[8:]
	}
	for _, v := range b {
		s0 += v
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}
