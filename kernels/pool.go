package kernels

import (
	"runtime"
	"sync"
)

// Pool is a persistent set of worker goroutines that run the parts of one
// operation in parallel. It is created once per model handle; no goroutine
// is started per operation. A Pool runs one operation at a time (Run calls
// are serialized).
type Pool struct {
	n     int
	mu    sync.Mutex
	work  []chan task
	wg    sync.WaitGroup
	close sync.Once
}

type task struct {
	fn     func(worker, lo, hi int)
	worker int
	lo, hi int
	done   *sync.WaitGroup
}

// NewPool starts a pool of n workers (n <= 0: one per CPU). The caller's
// goroutine takes part in every Run, so n-1 goroutines are started.
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, work: make([]chan task, n)}
	for i := 1; i < n; i++ {
		ch := make(chan task)
		p.work[i] = ch
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for t := range ch {
				t.fn(t.worker, t.lo, t.hi)
				t.done.Done()
			}
		}()
	}
	return p
}

// Threads is the number of workers, the caller included.
func (p *Pool) Threads() int { return p.n }

// Run splits [0, n) into at most Threads() contiguous ranges of whole
// multiples of grain (the last range takes the remainder) and calls fn for
// each, in parallel, passing the worker index (0..Threads()-1) so fn can use
// per-worker scratch. It returns when all calls have returned. fn must not
// call Run on the same pool.
func (p *Pool) Run(n, grain int, fn func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	units := (n + grain - 1) / grain
	parts := min(p.n, units)
	// The lock also guards per-worker scratch of callers: worker i's
	// scratch is only touched by the one call that runs as worker i.
	p.mu.Lock()
	defer p.mu.Unlock()
	if parts <= 1 {
		fn(0, 0, n)
		return
	}
	var done sync.WaitGroup
	done.Add(parts - 1)
	// Unit ranges split evenly: the first (units % parts) parts get one more.
	base, extra := units/parts, units%parts
	lo0, hi0, start := 0, 0, 0
	for i := 0; i < parts; i++ {
		u := base
		if i < extra {
			u++
		}
		lo, hi := start*grain, min((start+u)*grain, n)
		start += u
		if i == 0 {
			lo0, hi0 = lo, hi
			continue
		}
		p.work[i] <- task{fn: fn, worker: i, lo: lo, hi: hi, done: &done}
	}
	fn(0, lo0, hi0)
	done.Wait()
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.close.Do(func() {
		p.mu.Lock()
		for i := 1; i < p.n; i++ {
			close(p.work[i])
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}
