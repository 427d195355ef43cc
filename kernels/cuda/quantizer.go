package cuda

import (
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/quant"
)

// I2SMatMuler computes a ternary matrix product on a GPU. MatMulI2S takes
// w, a whole I2_S tensor of rows x cols weights (rows*cols/4 code bytes and
// the 32-byte tail with the scale), n rows of int8 activations q [n][cols]
// with their scales s [n] (as quant.QuantizeActivations makes them), and
// writes out [n][rows] with the arithmetic of kernels.Reference.MatMulI8:
// out[t][r] = float32(sum_c code*q) * (1/s[t]) * scale. Arguments are
// checked before it is called.
type I2SMatMuler interface {
	MatMulI2S(w []byte, rows, cols int, q []int8, s []float32, n int, out []float32) error
}

// RowQuantizer is implemented by an I2SMatMuler that also quantizes
// activation rows on the GPU, exactly as quant.QuantizeActivations: x
// [n][cols] to q [n][cols] and s [n].
type RowQuantizer interface {
	QuantizeRows(x []float32, n, cols int, q []int8, s []float32) error
}

// MemoryReporter is implemented by an I2SMatMuler that reports its device's
// memory (as Context.MemInfo does).
type MemoryReporter interface {
	MemInfo() (free, total uint64, err error)
}

// TargetKind is the kind of device a DeviceAwareQuantizer is asked for.
type TargetKind int

// Target kinds.
const (
	TargetAuto TargetKind = iota // a GPU when one works, else the CPU
	TargetCPU
	TargetCUDA
)

// Target is the device a DeviceAwareQuantizer is asked for: a kind and,
// for CUDA, the device index.
type Target struct {
	Kind  TargetKind
	Index int
}

// String names the target: "auto", "cpu", "cuda:0".
func (t Target) String() string {
	switch t.Kind {
	case TargetAuto:
		return "auto"
	case TargetCPU:
		return "cpu"
	case TargetCUDA:
		return fmt.Sprintf("cuda:%d", t.Index)
	}
	return fmt.Sprintf("target(%d)", int(t.Kind))
}

func (t Target) check() error {
	if t.Kind < TargetAuto || t.Kind > TargetCUDA {
		return fmt.Errorf("device kind %d is unknown: %w", int(t.Kind), errs.ErrInvalidArgument)
	}
	if t.Index < 0 {
		return fmt.Errorf("device %v: negative index: %w", t, errs.ErrInvalidArgument)
	}
	return nil
}

// DeviceAwareQuantizer quantizes activations and multiplies them with I2_S
// matrices on a GPU when it has one, and on the CPU (kernels.Reference)
// otherwise or when the GPU fails: every GPU error falls back to the CPU,
// which computes the same result, and is counted in Stats. Safe for
// concurrent use (CPU work is serialized).
type DeviceAwareQuantizer struct {
	target   Target
	gpu      I2SMatMuler
	ownsGPU  bool // close gpu on Close
	forceCPU atomic.Bool

	cpuMu sync.Mutex // the Reference backend serves one call at a time
	pool  *kernels.Pool
	ref   *kernels.Reference

	mu    sync.Mutex // guards stats
	stats DeviceStats
	noGPU string // why the factory found no GPU ("" otherwise)
}

// NewDeviceAwareQuantizer returns a quantizer for target that uses gpu (nil:
// the CPU only) and threads CPU workers (<= 0: one per CPU). Close it to
// stop the workers; it does not close gpu.
func NewDeviceAwareQuantizer(target Target, gpu I2SMatMuler, threads int) (*DeviceAwareQuantizer, error) {
	if err := target.check(); err != nil {
		return nil, err
	}
	pool := kernels.NewPool(threads)
	q := &DeviceAwareQuantizer{target: target, gpu: gpu, pool: pool, ref: kernels.NewReference(pool)}
	q.stats.Target = target
	return q, nil
}

// Close stops the CPU workers and, for a quantizer the factory made, closes
// its GPU implementation.
func (q *DeviceAwareQuantizer) Close() error {
	q.pool.Close()
	if c, ok := q.gpu.(io.Closer); ok && q.ownsGPU {
		q.ownsGPU = false
		return c.Close()
	}
	return nil
}

// Target returns the device the quantizer was asked for.
func (q *DeviceAwareQuantizer) Target() Target { return q.target }

// IsGPUActive reports whether calls go to the GPU first.
func (q *DeviceAwareQuantizer) IsGPUActive() bool { return q.gpu != nil && !q.forceCPU.Load() }

// ActiveProvider names where calls go first: "cuda" or "cpu".
func (q *DeviceAwareQuantizer) ActiveProvider() string {
	if q.IsGPUActive() {
		return "cuda"
	}
	return "cpu"
}

// ForceCPUFallback sends every call to the CPU (true) or back to the GPU
// when there is one (false).
func (q *DeviceAwareQuantizer) ForceCPUFallback(force bool) { q.forceCPU.Store(force) }

// checkI2S checks the arguments of a ternary product (see I2SMatMuler).
func checkI2S(w []byte, rows, cols int, q []int8, s []float32, n int, out []float32) error {
	if rows <= 0 || cols <= 0 || n <= 0 {
		return fmt.Errorf("I2_S product %dx%d over %d rows: %w", rows, cols, n, errs.ErrInvalidArgument)
	}
	if cols%quant.I2SBlock != 0 {
		return fmt.Errorf("I2_S rows of %d weights are not a multiple of %d: %w", cols, quant.I2SBlock, errs.ErrInvalidArgument)
	}
	if rows > math.MaxInt32/cols || n > math.MaxInt32/cols || n > math.MaxInt32/rows {
		return fmt.Errorf("I2_S product %dx%d over %d rows is too large: %w", rows, cols, n, errs.ErrInvalidArgument)
	}
	if want := rows*cols/4 + quant.I2STail; len(w) != want {
		return fmt.Errorf("I2_S tensor %dx%d: %d bytes, want %d: %w", rows, cols, len(w), want, errs.ErrInvalidArgument)
	}
	if len(q) < n*cols || len(s) < n || len(out) < n*rows {
		return fmt.Errorf("I2_S product %dx%d over %d rows: q %d, s %d, out %d values are too few: %w",
			rows, cols, n, len(q), len(s), len(out), errs.ErrInvalidArgument)
	}
	return nil
}

// checkRows checks the arguments of a row quantization.
func checkRows(x []float32, n, cols int, q []int8, s []float32) error {
	if n <= 0 || cols <= 0 || n > math.MaxInt32/cols {
		return fmt.Errorf("quantize %d rows of %d: %w", n, cols, errs.ErrInvalidArgument)
	}
	if len(x) < n*cols || len(q) < n*cols || len(s) < n {
		return fmt.Errorf("quantize %d rows of %d: x %d, q %d, s %d values are too few: %w",
			n, cols, len(x), len(q), len(s), errs.ErrInvalidArgument)
	}
	return nil
}

// QuantizeRows quantizes n rows of cols activations x to int8 q [n][cols]
// and scales s [n] (quant.QuantizeActivations per row): on the GPU when its
// implementation is a RowQuantizer, else on the CPU.
func (q *DeviceAwareQuantizer) QuantizeRows(x []float32, n, cols int, qo []int8, s []float32) error {
	if err := checkRows(x, n, cols, qo, s); err != nil {
		return err
	}
	start := time.Now()
	rq, ok := q.gpu.(RowQuantizer)
	if ok && q.IsGPUActive() {
		err := rq.QuantizeRows(x[:n*cols], n, cols, qo[:n*cols], s[:n])
		if err == nil {
			q.record(opQuantize, onGPU, start, nil)
			return nil
		}
		q.record(opQuantize, fallback, start, err)
		start = time.Now()
	}
	q.cpuMu.Lock()
	q.ref.QuantizeRows(qo, s, x, n, cols)
	q.cpuMu.Unlock()
	q.record(opQuantize, onCPU, start, nil)
	return nil
}

// Quantize quantizes len(x)/cols rows of activations and returns the int8
// values and the per-row scales.
func (q *DeviceAwareQuantizer) Quantize(x []float32, cols int) ([]int8, []float32, error) {
	if cols <= 0 || len(x)%cols != 0 || len(x) == 0 {
		return nil, nil, fmt.Errorf("quantize %d values in rows of %d: %w", len(x), cols, errs.ErrInvalidArgument)
	}
	n := len(x) / cols
	qo, s := make([]int8, len(x)), make([]float32, n)
	if err := q.QuantizeRows(x, n, cols, qo, s); err != nil {
		return nil, nil, err
	}
	return qo, s, nil
}

// MatMulI2S computes out [n][rows] from the I2_S tensor w (rows x cols,
// with its tail) and the activations q [n][cols] with scales s [n] (see
// I2SMatMuler): on the GPU when active, and on the CPU otherwise or when
// the GPU fails (the failure is counted and kept in Stats).
func (q *DeviceAwareQuantizer) MatMulI2S(w []byte, rows, cols int, qa []int8, s []float32, n int, out []float32) error {
	if err := checkI2S(w, rows, cols, qa, s, n, out); err != nil {
		return err
	}
	start := time.Now()
	if q.IsGPUActive() {
		err := q.gpu.MatMulI2S(w, rows, cols, qa[:n*cols], s[:n], n, out[:n*rows])
		if err == nil {
			q.record(opMatMul, onGPU, start, nil)
			return nil
		}
		q.record(opMatMul, fallback, start, err)
		start = time.Now()
	}
	if err := q.cpuMatMulI2S(w, rows, cols, qa, s, n, out); err != nil {
		q.record(opMatMul, cpuFailed, start, err)
		return err
	}
	q.record(opMatMul, onCPU, start, nil)
	return nil
}

// cpuMatMulI2S is the CPU path: kernels.Reference.MatMulI8.
func (q *DeviceAwareQuantizer) cpuMatMulI2S(w []byte, rows, cols int, qa []int8, s []float32, n int, out []float32) error {
	m, err := kernels.NewMatrix("i2s", quant.I2_S, rows, cols, w, 1)
	if err != nil {
		return err
	}
	q.cpuMu.Lock()
	defer q.cpuMu.Unlock()
	q.ref.MatMulI8(out, m, qa, s, n)
	return nil
}

// DeviceAwareQuantizerFactory makes DeviceAwareQuantizers for the device
// that is asked for or the best present one.
type DeviceAwareQuantizerFactory struct {
	// NewGPU makes the GPU implementation on CUDA device index (normally
	// the GPU backend's constructor). Nil: quantizers use the CPU only.
	NewGPU func(index int) (I2SMatMuler, error)
	// Threads is the number of CPU workers of each quantizer (<= 0: one
	// per CPU).
	Threads int
}

// New returns a quantizer for target: with the GPU implementation of the
// CUDA device asked for (TargetAuto: device 0) when NewGPU succeeds, else
// one on the CPU whose Stats say why (LastGPUError). TargetCPU never
// touches a GPU.
func (f DeviceAwareQuantizerFactory) New(target Target) (*DeviceAwareQuantizer, error) {
	if err := target.check(); err != nil {
		return nil, err
	}
	var gpu I2SMatMuler
	why := ""
	if target.Kind != TargetCPU {
		index := target.Index
		if target.Kind == TargetAuto {
			index = 0
		}
		g, err := f.newGPU(index)
		if err != nil {
			why = err.Error()
		} else {
			gpu = g
		}
	}
	q, err := NewDeviceAwareQuantizer(target, gpu, f.Threads)
	if err != nil {
		if c, ok := gpu.(io.Closer); ok {
			_ = c.Close()
		}
		return nil, err
	}
	q.ownsGPU = gpu != nil
	q.noGPU = why
	q.stats.LastGPUError = why
	return q, nil
}

func (f DeviceAwareQuantizerFactory) newGPU(index int) (I2SMatMuler, error) {
	if f.NewGPU == nil {
		return nil, fmt.Errorf("no GPU implementation is configured: %w", errs.ErrUnsupported)
	}
	g, err := f.NewGPU(index)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, fmt.Errorf("CUDA device %d: the GPU implementation is nil: %w", index, errs.ErrDevice)
	}
	return g, nil
}

// AutoDetect returns a quantizer on the best present device.
func (f DeviceAwareQuantizerFactory) AutoDetect() (*DeviceAwareQuantizer, error) {
	return f.New(Target{Kind: TargetAuto})
}

// AvailableTargets lists the devices of this machine: the CPU, then every
// CUDA device.
func AvailableTargets() []Target {
	out := []Target{{Kind: TargetCPU}}
	if n, err := DeviceCount(); err == nil {
		for i := 0; i < n; i++ {
			out = append(out, Target{Kind: TargetCUDA, Index: i})
		}
	}
	return out
}
