package cuda

import (
	"errors"
	"fmt"
	"sync"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// I2SMatMul multiplies whole I2_S tensors with int8 activations on one GPU,
// one call at a time (the seed API's DeviceAwareQuantizer.matmul_i2s). Each
// call repacks and uploads the weights: it is a compatibility path, not
// the forward pass (Model keeps its weights on the device).
type I2SMatMul struct {
	mu  sync.Mutex
	ctx *Context
	mod *Module
	k   *kernelSet
	st  *Stream
}

// NewI2SMatMul opens CUDA device index for I2_S products.
func NewI2SMatMul(index int) (*I2SMatMul, error) {
	ctx, err := NewContext(index)
	if err != nil {
		return nil, err
	}
	g := &I2SMatMul{ctx: ctx}
	if g.mod, g.k, err = loadKernels(ctx); err == nil {
		g.st, err = ctx.NewStream()
	}
	if err != nil {
		_ = g.Close()
		return nil, err
	}
	return g, nil
}

// MatMulI2S computes out[t*rows+r] = (sum_c W[r][c] q[t*cols+c]) * (1/s[t])
// * scale for t < n, as kernels.Reference.MatMulI8 does for an I2_S matrix:
// w is the whole I2_S tensor (rows*cols/4 bytes of codes and the 32-byte
// tail holding scale). The integer sums are exact and the float steps
// rounded one by one, so the result equals the CPU's bit for bit.
func (g *I2SMatMul) MatMulI2S(w []byte, rows, cols int, q []int8, s []float32, n int, out []float32) error {
	if rows <= 0 || cols <= 0 || n <= 0 || cols%quant.I2SBlock != 0 {
		return fmt.Errorf("GPU I2_S matmul: %dx%d x %d tokens: %w", rows, cols, n, errs.ErrInvalidArgument)
	}
	if len(w) != rows*cols/4+quant.I2STail || len(q) < n*cols || len(s) < n || len(out) < n*rows {
		return fmt.Errorf("GPU I2_S matmul: %d weight bytes, %d activations, %d scales, %d outputs for %dx%d x %d: %w",
			len(w), len(q), len(s), len(out), rows, cols, n, errs.ErrInvalidArgument)
	}
	if n > 65535*ternTokens {
		return fmt.Errorf("GPU I2_S matmul: %d tokens: %w", n, errs.ErrInvalidArgument)
	}
	layout, scale, err := repackTernary(quant.I2_S, rows, cols, w, 1)
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	qsum := make([]int32, n)
	for t := range qsum {
		var sum int32
		for _, v := range q[t*cols : (t+1)*cols] {
			sum += int32(v)
		}
		qsum[t] = sum
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.st == nil {
		return fmt.Errorf("GPU I2_S matmul: closed: %w", errs.ErrClosed)
	}
	var bufs []Buffer
	defer func() {
		for _, b := range bufs {
			_ = g.ctx.Free(b)
		}
	}()
	alloc := func(bytes int) (Buffer, error) {
		b, err := g.ctx.Alloc(int64(bytes))
		if err == nil {
			bufs = append(bufs, b)
		}
		return b, err
	}
	dw, err := alloc(len(layout))
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	dq, err := alloc(n*cols + qSlack)
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	ds, err := alloc(4 * n)
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	dsum, err := alloc(4 * n)
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	dout, err := alloc(4 * n * rows)
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	err = errors.Join(g.ctx.UploadBytes(dw, layout), g.ctx.Memset(dq, 0), g.ctx.UploadInt8(dq, q[:n*cols]),
		g.ctx.UploadFloat32(ds, s[:n]), g.ctx.UploadInt32(dsum, qsum))
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	if n == 1 {
		grid, block := ternLaunch(rows, cols, 1, false)
		err = g.st.Launch(g.k.TernGEMV, grid, block, 0, dw, dq, ds, dsum, dout, i32(rows), i32(cols), scale)
	} else {
		grid, block := ternLaunch(rows, cols, n, true)
		err = g.st.Launch(g.k.TernGEMM, grid, block, 0, dw, dq, ds, dsum, dout, i32(rows), i32(cols), scale, i32(n))
	}
	if err == nil {
		err = g.st.DownloadFloat32Async(out[:n*rows], dout)
	}
	if err == nil {
		err = g.st.Sync()
	}
	if err != nil {
		return fmt.Errorf("GPU I2_S matmul: %w", err)
	}
	return nil
}

// QuantizeRows quantizes n rows of cols activations x on the GPU exactly as
// quant.QuantizeActivations: q [n][cols] and s [n] (RowQuantizer).
func (g *I2SMatMul) QuantizeRows(x []float32, n, cols int, q []int8, s []float32) error {
	if n <= 0 || cols <= 0 || len(x) < n*cols || len(q) < n*cols || len(s) < n {
		return fmt.Errorf("GPU quantize: %d rows of %d: %w", n, cols, errs.ErrInvalidArgument)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.st == nil {
		return fmt.Errorf("GPU quantize: closed: %w", errs.ErrClosed)
	}
	var bufs []Buffer
	defer func() {
		for _, b := range bufs {
			_ = g.ctx.Free(b)
		}
	}()
	for _, bytes := range []int{4 * n * cols, n * cols, 4 * n, 4 * n} {
		b, err := g.ctx.Alloc(int64(bytes))
		if err != nil {
			return fmt.Errorf("GPU quantize: %w", err)
		}
		bufs = append(bufs, b)
	}
	dx, dq, ds, dsum := bufs[0], bufs[1], bufs[2], bufs[3]
	err := g.ctx.UploadFloat32(dx, x[:n*cols])
	if err == nil {
		err = g.st.Launch(g.k.QuantizeRows, [3]uint32{uint32(n), 1, 1}, [3]uint32{normThreads, 1, 1}, 0, dx, dq, ds, dsum, i32(n), i32(cols))
	}
	if err == nil {
		err = g.st.Sync()
	}
	if err == nil {
		err = errors.Join(g.ctx.DownloadInt8(q[:n*cols], dq), g.ctx.DownloadFloat32(s[:n], ds))
	}
	if err != nil {
		return fmt.Errorf("GPU quantize: %w", err)
	}
	return nil
}

// MemInfo returns the device's free and total memory (MemoryReporter).
func (g *I2SMatMul) MemInfo() (free, total uint64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ctx == nil {
		return 0, 0, fmt.Errorf("GPU memory: closed: %w", errs.ErrClosed)
	}
	return g.ctx.MemInfo()
}

// NewGPUMatMuler is NewI2SMatMul as DeviceAwareQuantizerFactory.NewGPU
// takes it.
func NewGPUMatMuler(index int) (I2SMatMuler, error) {
	g, err := NewI2SMatMul(index)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Close releases the device. Close may be called more than once.
func (g *I2SMatMul) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var errList []error
	if g.st != nil {
		errList = append(errList, g.st.Close())
		g.st = nil
	}
	if g.mod != nil {
		errList = append(errList, g.mod.Close())
		g.mod = nil
	}
	if g.ctx != nil {
		errList = append(errList, g.ctx.Close())
		g.ctx = nil
	}
	return errors.Join(errList...)
}
