package cuda

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bitnet-dev/bitnet/errs"
)

// CudaKernel is a GPU kernel provider: one device's Context with a default
// stream, the device's description, memory and performance statistics, and
// batched ternary products through an I2SMatMuler.
type CudaKernel struct {
	ctx    *Context
	stream *Stream

	mu       sync.Mutex // guards mm, closed and the totals below
	mm       I2SMatMuler
	closed   bool
	busy     time.Duration
	batchOps uint64
}

// BatchOperation is one request of BatchMatMulI2S: out [N][Rows] from the
// I2_S tensor W (Rows x Cols, with its tail) and the activations Q
// [N][Cols] with scales S [N] (see I2SMatMuler).
type BatchOperation struct {
	W          []byte
	Rows, Cols int
	Q          []int8
	S          []float32
	N          int
	Out        []float32
}

// PerformanceStats are the totals of a CudaKernel since it was made or
// last reset.
type PerformanceStats struct {
	KernelLaunches  uint64 // kernels launched in the kernel's context
	GraphLaunches   uint64 // graph replays in the context
	BytesToDevice   uint64
	BytesToHost     uint64
	BatchOperations uint64 // BatchMatMulI2S requests done
	// DeviceTime is the wall time of the synchronous GPU operations
	// (BatchMatMulI2S, SynchronizeAll), copies included.
	DeviceTime time.Duration
}

// NewCudaKernel opens CUDA device index (an error wrapping ErrNoDevice
// when there is none) with a default stream.
func NewCudaKernel(index int) (*CudaKernel, error) {
	ctx, err := NewContext(index)
	if err != nil {
		return nil, err
	}
	s, err := ctx.NewStream()
	if err != nil {
		_ = ctx.Close()
		return nil, err
	}
	return &CudaKernel{ctx: ctx, stream: s}, nil
}

// Close releases the device (closing twice is a no-op); the kernel's
// I2SMatMuler is not closed.
func (k *CudaKernel) Close() error {
	k.mu.Lock()
	closed := k.closed
	k.closed = true
	k.mu.Unlock()
	if closed {
		return nil
	}
	return errors.Join(k.stream.Close(), k.ctx.Close())
}

// DeviceInfo describes the device: name, multiprocessors, compute
// capability, memory.
func (k *CudaKernel) DeviceInfo() DeviceInfo { return k.ctx.Info() }

// Context returns the device's context, for custom modules, memory and
// launches.
func (k *CudaKernel) Context() *Context { return k.ctx }

// Stream returns the kernel's default stream.
func (k *CudaKernel) Stream() *Stream { return k.stream }

// LoadModule loads custom PTX into the kernel's context.
func (k *CudaKernel) LoadModule(ptx []byte) (*Module, error) { return k.ctx.LoadModule(ptx) }

// SetMatMuler sets the GPU implementation BatchMatMulI2S uses (normally
// the GPU backend's, made on Context()).
func (k *CudaKernel) SetMatMuler(m I2SMatMuler) {
	k.mu.Lock()
	k.mm = m
	k.mu.Unlock()
}

// LaunchConfig returns the launch of a kernel with one thread per element
// of n, from the device's limits.
func (k *CudaKernel) LaunchConfig(n int) (grid, block [3]uint32) { return k.ctx.Info().LaunchConfig(n) }

// SynchronizeAll waits until every stream of the device's context is idle
// and returns the first error of their work.
func (k *CudaKernel) SynchronizeAll() error {
	start := time.Now()
	err := k.ctx.Synchronize()
	k.addBusy(start, 0)
	return err
}

// MemoryStats returns the device memory in use (by every process) and the
// total, in bytes.
func (k *CudaKernel) MemoryStats() (used, total uint64, err error) {
	free, total, err := k.ctx.MemInfo()
	if err != nil {
		return 0, 0, err
	}
	return total - min(free, total), total, nil
}

// PerformanceStats returns the totals since creation or the last reset.
func (k *CudaKernel) PerformanceStats() PerformanceStats {
	c := k.ctx.Counters()
	k.mu.Lock()
	defer k.mu.Unlock()
	return PerformanceStats{KernelLaunches: c.KernelLaunches, GraphLaunches: c.GraphLaunches,
		BytesToDevice: c.BytesToDevice, BytesToHost: c.BytesToHost, BatchOperations: k.batchOps, DeviceTime: k.busy}
}

// ResetPerformanceStats zeroes the totals (for benchmarks).
func (k *CudaKernel) ResetPerformanceStats() {
	k.ctx.ResetCounters()
	k.mu.Lock()
	k.busy, k.batchOps = 0, 0
	k.mu.Unlock()
}

func (k *CudaKernel) addBusy(start time.Time, ops uint64) {
	d := time.Since(start)
	k.mu.Lock()
	k.busy += d
	k.batchOps += ops
	k.mu.Unlock()
}

// BatchMatMulI2S runs the ternary products of several requests on the GPU,
// in order. It stops at the first failure and returns it, naming the
// request; requests are checked before any runs.
func (k *CudaKernel) BatchMatMulI2S(ops []BatchOperation) error {
	k.mu.Lock()
	mm := k.mm
	k.mu.Unlock()
	if mm == nil {
		return fmt.Errorf("CUDA device %d: no I2_S matrix product is set (SetMatMuler): %w", k.ctx.Info().Index, errs.ErrUnsupported)
	}
	for i, op := range ops {
		if err := checkI2S(op.W, op.Rows, op.Cols, op.Q, op.S, op.N, op.Out); err != nil {
			return fmt.Errorf("batch request %d: %w", i, err)
		}
	}
	start := time.Now()
	done := uint64(0)
	defer func() { k.addBusy(start, done) }()
	for i, op := range ops {
		if err := mm.MatMulI2S(op.W, op.Rows, op.Cols, op.Q[:op.N*op.Cols], op.S[:op.N], op.N, op.Out[:op.N*op.Rows]); err != nil {
			return fmt.Errorf("batch request %d: %w", i, err)
		}
		done++
	}
	return nil
}
