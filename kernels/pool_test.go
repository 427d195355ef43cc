package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestPoolRunCoversEveryIndexOnceInGrainMultiples(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for _, c := range []struct{ n, grain int }{{1, 1}, {7, 1}, {100, 8}, {5, 16}, {1000, 7}, {3, 1}} {
			seen := make([]int32, c.n)
			var mu sync.Mutex
			workers := map[int]bool{}
			p.Run(c.n, c.grain, func(worker, lo, hi int) {
				if lo%c.grain != 0 || (hi%c.grain != 0 && hi != c.n) || lo >= hi {
					t.Errorf("threads %d n %d grain %d: bad range [%d,%d)", threads, c.n, c.grain, lo, hi)
				}
				mu.Lock()
				if workers[worker] {
					t.Errorf("worker %d ran twice in one Run", worker)
				}
				workers[worker] = true
				mu.Unlock()
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			for i, s := range seen {
				if s != 1 {
					t.Fatalf("threads %d n %d grain %d: index %d visited %d times", threads, c.n, c.grain, i, s)
				}
			}
		}
		p.Close()
	}
}

func TestPoolRunSplitsWorkEvenly(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	var mu sync.Mutex
	var sizes []int
	p.Run(103, 1, func(_, lo, hi int) {
		mu.Lock()
		sizes = append(sizes, hi-lo)
		mu.Unlock()
	})
	if len(sizes) != 4 {
		t.Fatalf("%d parts, want 4", len(sizes))
	}
	for _, s := range sizes {
		if s < 25 || s > 26 {
			t.Fatalf("part sizes %v, want 25 or 26 each", sizes)
		}
	}
}

func TestPoolSerializesConcurrentRuns(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var active, maxActive int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				p.Run(2, 1, func(worker, lo, hi int) {
					if worker == 0 {
						a := atomic.AddInt32(&active, 1)
						for {
							m := atomic.LoadInt32(&maxActive)
							if a <= m || atomic.CompareAndSwapInt32(&maxActive, m, a) {
								break
							}
						}
						atomic.AddInt32(&active, -1)
					}
				})
			}
		}()
	}
	wg.Wait()
	if maxActive != 1 {
		t.Fatalf("%d Runs were active at once, want 1", maxActive)
	}
}

func TestPoolDefaultsToOneWorkerPerCPUAndClosesTwice(t *testing.T) {
	p := NewPool(0)
	if p.Threads() < 1 {
		t.Fatalf("threads %d", p.Threads())
	}
	p.Close()
	p.Close()
}
