package cuda

import (
	"fmt"
	"reflect"
)

// kernelSet holds the functions of the embedded PTX that the GPU model and
// the benchmark launch. The field tags name the kernels.
type kernelSet struct {
	EmbedF32      *Function `kernel:"embed_f32"`
	EmbedF16      *Function `kernel:"embed_f16"`
	RMSNorm       *Function `kernel:"rmsnorm"`
	RMSNormQuant  *Function `kernel:"rmsnorm_quant"`
	QuantizeRows  *Function `kernel:"quantize_rows"`
	TernGEMV      *Function `kernel:"tern_gemv"`
	TernGEMM      *Function `kernel:"tern_gemm"`
	TernMV        *Function `kernel:"tern_mv"`
	TernMM        *Function `kernel:"tern_mm"`
	MatMulF32     *Function `kernel:"matmul_f32"`
	MatMulF16     *Function `kernel:"matmul_f16"`
	MatMulQ8_0    *Function `kernel:"matmul_q8_0"`
	Rope          *Function `kernel:"rope"`
	KVStore       *Function `kernel:"kv_store"`
	RopeKVStep    *Function `kernel:"rope_kv_step"`
	Attend        *Function `kernel:"attend"`
	AttendStep    *Function `kernel:"attend_step"`
	GLU           *Function `kernel:"glu"`
	AddInplace    *Function `kernel:"add_inplace"`
	Argmax        *Function `kernel:"argmax"`
	ArgmaxStep    *Function `kernel:"argmax_step"`
	BandwidthCopy *Function `kernel:"bandwidth_copy"`
	BandwidthRead *Function `kernel:"bandwidth_read"`
}

// loadKernels JIT-compiles the embedded PTX into ctx and looks up every
// kernel of kernelSet.
func loadKernels(ctx *Context) (*Module, *kernelSet, error) {
	mod, err := ctx.LoadModule(kernelsPTX)
	if err != nil {
		return nil, nil, err
	}
	ks := &kernelSet{}
	v := reflect.ValueOf(ks).Elem()
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Tag.Get("kernel")
		f, err := mod.Function(name)
		if err != nil {
			_ = mod.Close()
			return nil, nil, fmt.Errorf("GPU kernels: %w", err)
		}
		v.Field(i).Set(reflect.ValueOf(f))
	}
	return mod, ks, nil
}

// Launch shapes. They depend on the device only through its limits (all
// our blocks are at most 1024 threads and use little shared memory).
const (
	normThreads   = 256  // rmsnorm, rmsnorm_quant, quantize_rows: one block per row
	attendThreads = 256  // attend: one block per (head, token)
	argmaxThreads = 1024 // argmax: one block
	fmmWarps      = 8    // float matmul: one warp per row
	fmmTokens     = 4    // FMM_TOKENS in kernels.cu
	ternTokens    = 8    // TERN_GEMM_TOKENS in kernels.cu
	ternMaxWarps  = 8    // TERN_MAX_WARPS in kernels.cu
)

// ternWarps is the number of warps of a ternary product's block: they split
// the 256-column groups of the rows, about three groups each, so that each
// lane has its weight loads in flight at once.
func ternWarps(cols int) int {
	return max(1, min(ternMaxWarps, ceilDivInt(ceilDivInt(cols, ternGroup), 3)))
}

// ternLaunch returns the grid and block of tern_gemv / tern_mv (tokens = 1)
// or tern_gemm / tern_mm (tokens = n).
func ternLaunch(rows, cols, n int, gemm bool) (grid, block [3]uint32) {
	gy := 1
	if gemm {
		gy = ceilDivInt(n, ternTokens)
	}
	return [3]uint32{uint32(ceilDivInt(rows, ternRowBlock)), uint32(gy), 1}, [3]uint32{uint32(32 * ternWarps(cols)), 1, 1}
}

// fmmLaunch returns the grid and block of matmul_f32/f16/q8_0.
func fmmLaunch(rows, n int) (grid, block [3]uint32) {
	return [3]uint32{uint32(ceilDivInt(rows, fmmWarps)), uint32(ceilDivInt(n, fmmTokens)), 1}, [3]uint32{32 * fmmWarps, 1, 1}
}

// elemLaunch is a grid-stride launch over n elements.
func (m *launcher) elemLaunch(n int) (grid, block [3]uint32) {
	return m.info.GridStride(n)
}

// launcher queues kernels on one stream.
type launcher struct {
	k    *kernelSet
	s    *Stream
	info DeviceInfo
	err  error // the first failed launch
}

// launch queues f unless an earlier launch failed.
func (l *launcher) launch(f *Function, grid, block [3]uint32, args ...any) {
	if l.err != nil {
		return
	}
	l.err = l.s.Launch(f, grid, block, 0, args...)
}

func i32(v int) int32 { return int32(v) }

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
