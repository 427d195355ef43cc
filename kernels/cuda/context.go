package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/bitnet-dev/bitnet/errs"
)

// Context is one device's primary context, current on a dedicated
// goroutine locked to its OS thread. Every driver call of the context runs
// on that thread (the driver keeps the current context per thread), so a
// Context and everything made from it may be used from any goroutine.
//
// Calls are serialized: one runs at a time. Do runs a whole sequence of
// calls in one trip to the thread (cheaper than one trip per call).
//
// Closing the Context releases the primary context; when no other Context
// of the same device holds it, the driver frees everything made in it
// (memory, modules, streams, events, graphs).
type Context struct {
	info DeviceInfo

	tid    uint64      // the worker's OS thread (set before NewContext returns)
	inside atomic.Bool // the worker is running a request

	mu     sync.Mutex // one caller at a time; guards closed
	closed bool
	req    chan func() error
	resp   chan error

	stats counters
}

// counters are the context's running totals (atomic).
type counters struct {
	launches      atomic.Uint64
	graphLaunches atomic.Uint64
	toDevice      atomic.Uint64
	toHost        atomic.Uint64
	allocated     atomic.Int64
	peak          atomic.Int64
}

// Counters are the totals of a Context since it was made or last reset.
type Counters struct {
	KernelLaunches uint64 // Stream.Launch calls that succeeded
	GraphLaunches  uint64 // Graph.Launch calls that succeeded
	BytesToDevice  uint64 // host-to-device copies
	BytesToHost    uint64 // device-to-host copies
	Allocated      int64  // bytes currently allocated through Alloc
	PeakAllocated  int64  // the most bytes allocated at once
}

// NewContext opens device index: it retains the device's primary context
// and makes it current on a new dedicated OS thread.
func NewContext(index int) (*Context, error) {
	info, err := Query(index)
	if err != nil {
		return nil, err
	}
	dev, err := drvDeviceGet(index)
	if err != nil {
		return nil, fmt.Errorf("CUDA device %d: %w", index, err)
	}
	open := func() error {
		ctx, err := drvPrimaryRetain(dev)
		if err != nil {
			return err
		}
		if err := drvCtxSetCurrent(ctx); err != nil {
			_ = drvPrimaryRelease(dev)
			return err
		}
		return nil
	}
	shut := func() error {
		err := drvCtxSynchronize()
		if e := drvCtxSetCurrent(0); err == nil {
			err = e
		}
		if e := drvPrimaryRelease(dev); err == nil {
			err = e
		}
		return err
	}
	c, err := startContext(info, open, shut)
	if err != nil {
		return nil, fmt.Errorf("CUDA device %d: open its context: %w", index, err)
	}
	return c, nil
}

// startContext starts a context's thread, which runs open first and shut
// when the context closes.
func startContext(info DeviceInfo, open, shut func() error) (*Context, error) {
	c := &Context{info: info, req: make(chan func() error), resp: make(chan error)}
	started := make(chan error)
	go c.loop(started, open, shut)
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

// loop is the context's thread: it makes the context current (open) and
// then runs requests until req is closed. The goroutine stays locked to the
// thread when it ends, so the thread ends with it.
func (c *Context) loop(started chan<- error, open, shut func() error) {
	runtime.LockOSThread()
	err := run(open)
	c.tid = threadID()
	started <- err
	if err != nil {
		return
	}
	for f := range c.req {
		c.inside.Store(true)
		err := run(f)
		c.inside.Store(false)
		c.resp <- err
	}
	c.resp <- run(shut)
}

// run calls f, turning a panic into an error so that the thread survives.
func run(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cuda: panic in a context call: %v: %w", r, errs.ErrInternal)
		}
	}()
	return f()
}

// onThread reports whether the caller is f of a Do running on this
// context's thread.
func (c *Context) onThread() bool { return c.inside.Load() && threadID() == c.tid }

// Do runs f on the context's thread, where the context is current, and
// returns its error. Calls from other goroutines wait until f returns. f
// may call the methods of this Context and of the objects made from it
// (they notice that they already run on the thread and call the driver
// directly), but must not wait for another goroutine that uses the Context
// (that would deadlock). A panic in f is returned as an errs.ErrInternal
// error.
func (c *Context) Do(f func() error) error {
	if c.onThread() {
		return f()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.errClosed()
	}
	c.req <- f
	return <-c.resp
}

func (c *Context) errClosed() error {
	return fmt.Errorf("CUDA device %d: context is closed: %w", c.info.Index, errs.ErrClosed)
}

// Close synchronizes the device, releases the primary context and ends the
// context's thread. Further calls fail with errs.ErrClosed; closing twice
// is a no-op. It must not be called inside Do.
func (c *Context) Close() error {
	if c.onThread() {
		return fmt.Errorf("CUDA device %d: Close inside Do: %w", c.info.Index, errs.ErrInvalidArgument)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.req)
	if err := <-c.resp; err != nil {
		return fmt.Errorf("CUDA device %d: close: %w", c.info.Index, err)
	}
	return nil
}

// Info describes the context's device (as queried when it was opened).
func (c *Context) Info() DeviceInfo { return c.info }

// Synchronize waits until every stream of the context is idle, and returns
// the first error of earlier asynchronous work.
func (c *Context) Synchronize() error {
	return c.Do(drvCtxSynchronize)
}

// MemInfo returns the device's free and total memory.
func (c *Context) MemInfo() (free, total uint64, err error) {
	err = c.Do(func() error {
		var e error
		free, total, e = drvMemGetInfo()
		return e
	})
	return free, total, err
}

// Counters returns the context's totals.
func (c *Context) Counters() Counters {
	return Counters{
		KernelLaunches: c.stats.launches.Load(),
		GraphLaunches:  c.stats.graphLaunches.Load(),
		BytesToDevice:  c.stats.toDevice.Load(),
		BytesToHost:    c.stats.toHost.Load(),
		Allocated:      c.stats.allocated.Load(),
		PeakAllocated:  c.stats.peak.Load(),
	}
}

// ResetCounters zeroes the launch and transfer totals and sets the peak
// allocation to the current one.
func (c *Context) ResetCounters() {
	c.stats.launches.Store(0)
	c.stats.graphLaunches.Store(0)
	c.stats.toDevice.Store(0)
	c.stats.toHost.Store(0)
	c.stats.peak.Store(c.stats.allocated.Load())
}
