package main

/*
#include "shim.h"
*/
import "C"

import (
	"unsafe"

	"github.com/bitnet-dev/bitnet/kernels/cuda"
)

func quantizerTarget(kind, index C.int32_t) (cuda.Target, error) {
	switch kind {
	case C.BITNET_DEVICE_AUTO:
		return cuda.Target{Kind: cuda.TargetAuto}, nil
	case C.BITNET_DEVICE_CPU:
		return cuda.Target{Kind: cuda.TargetCPU}, nil
	case C.BITNET_DEVICE_CUDA:
		return cuda.Target{Kind: cuda.TargetCUDA, Index: int(index)}, nil
	}
	return cuda.Target{}, invalid("device kind %d: a quantizer runs on AUTO, CPU or CUDA", kind)
}

//export bitnet_quantizer_new
func bitnet_quantizer_new(kind, index C.int32_t, out **C.bitnet_quantizer) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	target, err := quantizerTarget(kind, index)
	if err != nil {
		return fail(err)
	}
	q, err := cuda.DeviceAwareQuantizerFactory{NewGPU: cuda.NewGPUMatMuler}.New(target)
	if err != nil {
		return fail(err)
	}
	p := newHandle(q, C.sizeof_struct_bitnet_quantizer)
	if p == nil {
		q.Close()
		return fail(errNoMemory)
	}
	*out = (*C.bitnet_quantizer)(p)
	return C.BITNET_OK
}

//export bitnet_quantizer_free
func bitnet_quantizer_free(p *C.bitnet_quantizer) {
	defer guardVoid()
	if q, err := lookup[*cuda.DeviceAwareQuantizer](unsafe.Pointer(p), "quantizer"); err == nil {
		q.Close()
	}
	freeHandle(unsafe.Pointer(p))
}

//export bitnet_quantizer_force_cpu_fallback
func bitnet_quantizer_force_cpu_fallback(p *C.bitnet_quantizer, force C.int32_t) (rc C.int32_t) {
	defer guard(&rc)
	q, err := lookup[*cuda.DeviceAwareQuantizer](unsafe.Pointer(p), "quantizer")
	if err != nil {
		return fail(err)
	}
	q.ForceCPUFallback(force != 0)
	return C.BITNET_OK
}

// checkedLen converts a caller size, refusing absurd values.
func checkedLen(n C.size_t, what string) (int, error) {
	if uint64(n) > 1<<40 {
		return 0, invalid("%s = %d is too large", what, n)
	}
	return int(n), nil
}

//export bitnet_quantizer_quantize
func bitnet_quantizer_quantize(p *C.bitnet_quantizer, x *C.float, nRows, cols C.size_t, outQ *C.int8_t, outS *C.float) (rc C.int32_t) {
	defer guard(&rc)
	q, err := lookup[*cuda.DeviceAwareQuantizer](unsafe.Pointer(p), "quantizer")
	if err != nil {
		return fail(err)
	}
	n, err := checkedLen(nRows, "n_rows")
	if err != nil {
		return fail(err)
	}
	c, err := checkedLen(cols, "cols")
	if err != nil {
		return fail(err)
	}
	if n == 0 || c == 0 {
		return C.BITNET_OK
	}
	if x == nil || outQ == nil || outS == nil {
		return fail(invalid("x, out_q and out_scales must not be NULL"))
	}
	xs := unsafe.Slice((*float32)(unsafe.Pointer(x)), n*c)
	qs := unsafe.Slice((*int8)(unsafe.Pointer(outQ)), n*c)
	ss := unsafe.Slice((*float32)(unsafe.Pointer(outS)), n)
	return result(offThread(func() error { return q.QuantizeRows(xs, n, c, qs, ss) }))
}

//export bitnet_quantizer_matmul_i2s
func bitnet_quantizer_matmul_i2s(p *C.bitnet_quantizer, w *C.uint8_t, wBytes, rows, cols C.size_t, x *C.int8_t, scales *C.float, n C.size_t, out *C.float) (rc C.int32_t) {
	defer guard(&rc)
	q, err := lookup[*cuda.DeviceAwareQuantizer](unsafe.Pointer(p), "quantizer")
	if err != nil {
		return fail(err)
	}
	var dims [4]int
	for i, v := range []C.size_t{wBytes, rows, cols, n} {
		if dims[i], err = checkedLen(v, "size"); err != nil {
			return fail(err)
		}
	}
	nb, r, c, k := dims[0], dims[1], dims[2], dims[3]
	if r == 0 || c == 0 || k == 0 {
		return fail(invalid("rows, cols and n must be positive"))
	}
	if w == nil || x == nil || scales == nil || out == nil {
		return fail(invalid("w, x, scales and out must not be NULL"))
	}
	if nb != r*c/4+32 {
		return fail(invalid("w_bytes is %d, an I2_S matrix of %dx%d takes %d", nb, r, c, r*c/4+32))
	}
	ws := unsafe.Slice((*byte)(unsafe.Pointer(w)), nb)
	xs := unsafe.Slice((*int8)(unsafe.Pointer(x)), k*c)
	ss := unsafe.Slice((*float32)(unsafe.Pointer(scales)), k)
	os := unsafe.Slice((*float32)(unsafe.Pointer(out)), k*r)
	return result(offThread(func() error { return q.MatMulI2S(ws, r, c, xs, ss, k, os) }))
}

//export bitnet_quantizer_stats
func bitnet_quantizer_stats(p *C.bitnet_quantizer, stats *C.bitnet_device_stats) (rc C.int32_t) {
	defer guard(&rc)
	q, err := lookup[*cuda.DeviceAwareQuantizer](unsafe.Pointer(p), "quantizer")
	if err != nil {
		return fail(err)
	}
	if stats == nil {
		return fail(invalid("stats is NULL"))
	}
	st := q.Stats()
	*stats = C.bitnet_device_stats{
		gpu_active:              cBool(q.IsGPUActive()),
		total_operations:        C.uint64_t(st.TotalOperations),
		quantization_operations: C.uint64_t(st.QuantizationOperations),
		matmul_operations:       C.uint64_t(st.MatMulOperations),
		gpu_operations:          C.uint64_t(st.GPUOperations),
		cpu_operations:          C.uint64_t(st.CPUOperations),
		fallbacks:               C.uint64_t(st.Fallbacks),
		efficiency:              C.double(st.Efficiency),
		total_ms:                C.double(float64(st.TotalTime.Microseconds()) / 1000),
		gpu_memory_used:         C.uint64_t(st.GPUMemoryUsed),
		gpu_memory_total:        C.uint64_t(st.GPUMemoryTotal),
	}
	setFixed(&stats.device_type[0], len(stats.device_type), st.DeviceType)
	setFixed(&stats.last_gpu_error[0], len(stats.last_gpu_error), st.LastGPUError)
	return C.BITNET_OK
}

//export bitnet_quantizer_reset_stats
func bitnet_quantizer_reset_stats(p *C.bitnet_quantizer) (rc C.int32_t) {
	defer guard(&rc)
	q, err := lookup[*cuda.DeviceAwareQuantizer](unsafe.Pointer(p), "quantizer")
	if err != nil {
		return fail(err)
	}
	q.ResetStats()
	return C.BITNET_OK
}
