package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long an idle worker (and a caller waiting for workers)
// polls for the next piece of work before it blocks. A forward pass hands
// work to the pool hundreds of times per token, microseconds apart; waking
// a blocked goroutine costs tens of microseconds, polling costs nothing
// while the next operation is about to come.
const spinFor = 50 * time.Microsecond

// Pool is a persistent set of worker goroutines that run the parts of one
// operation in parallel. It is created once per model handle; no goroutine
// is started per operation. A Pool runs one operation at a time (Run calls
// are serialized).
type Pool struct {
	n    int
	spin bool // poll before blocking (only when every worker can have a CPU)
	mu   sync.Mutex

	// The current job. Jobs are immutable once published, so a worker that
	// looks late at an old job reads consistent fields.
	job     atomic.Pointer[job]
	gen     uint64       // of the last job published (under mu)
	pending atomic.Int32 // workers 1..parts-1 of the current job still running

	// Blocking: a worker (or the caller) announces it is about to sleep,
	// checks again, then waits on its channel; publishers wake announced
	// sleepers. Channels hold at most one token, so a stale wake-up is only
	// a spurious one.
	sleeping       []atomic.Bool
	wake           []chan struct{}
	callerSleeping atomic.Bool
	done           chan struct{}
	wg             sync.WaitGroup
	closeOnce      sync.Once
}

// NewPool starts a pool of n workers (n <= 0: one per CPU). The caller's
// goroutine takes part in every Run, so n-1 goroutines are started.
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, spin: n <= runtime.GOMAXPROCS(0), sleeping: make([]atomic.Bool, n),
		wake: make([]chan struct{}, n), done: make(chan struct{}, 1)}
	for i := 1; i < n; i++ {
		p.wake[i] = make(chan struct{}, 1)
		p.wg.Add(1)
		go p.worker(i)
	}
	return p
}

// Threads is the number of workers, the caller included.
func (p *Pool) Threads() int { return p.n }

// job is one Run: fn over [0, n) in parts.
type job struct {
	gen      uint64
	fn       func(worker, lo, hi int)
	n, grain int
	parts    int
	closing  bool
}

// bounds returns the range of part i: whole grains, split evenly (the
// first units%parts parts get one more).
func (j *job) bounds(i int) (lo, hi int) {
	units := (j.n + j.grain - 1) / j.grain
	base, extra := units/j.parts, units%j.parts
	start := i*base + min(i, extra)
	u := base
	if i < extra {
		u++
	}
	return start * j.grain, min((start+u)*j.grain, j.n)
}

func (p *Pool) worker(i int) {
	defer p.wg.Done()
	var seen uint64
	for {
		p.waitFor(&p.sleeping[i], p.wake[i], func() bool { j := p.job.Load(); return j != nil && j.gen != seen })
		j := p.job.Load()
		seen = j.gen
		if j.closing {
			return
		}
		if i >= j.parts {
			continue
		}
		lo, hi := j.bounds(i)
		j.fn(i, lo, hi)
		if p.pending.Add(-1) == 0 && p.callerSleeping.Load() {
			select {
			case p.done <- struct{}{}:
			default:
			}
		}
	}
}

// waitFor polls ready (for up to spinFor when spinning is allowed), then
// blocks on wake after announcing itself in sleeping, until ready.
func (p *Pool) waitFor(sleeping *atomic.Bool, wake chan struct{}, ready func() bool) {
	if p.spin && !ready() {
		start := time.Now()
		for i := 1; !ready(); i++ {
			if i%64 == 0 && time.Since(start) > spinFor {
				break
			}
		}
	}
	for !ready() {
		sleeping.Store(true)
		if ready() {
			sleeping.Store(false)
			break
		}
		<-wake
		sleeping.Store(false)
	}
}

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
	p.gen++
	j := &job{gen: p.gen, fn: fn, n: n, grain: grain, parts: parts}
	p.pending.Store(int32(parts - 1))
	p.job.Store(j)
	p.wakeWorkers(parts)
	lo, hi := j.bounds(0)
	fn(0, lo, hi)
	p.waitFor(&p.callerSleeping, p.done, func() bool { return p.pending.Load() == 0 })
}

// wakeWorkers wakes the announced sleepers among workers 1..parts-1.
func (p *Pool) wakeWorkers(parts int) {
	for i := 1; i < parts; i++ {
		if p.sleeping[i].Load() {
			select {
			case p.wake[i] <- struct{}{}:
			default:
			}
		}
	}
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.gen++
		p.job.Store(&job{gen: p.gen, closing: true})
		p.wakeWorkers(p.n)
		p.mu.Unlock()
		p.wg.Wait()
	})
}
