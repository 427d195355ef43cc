//go:build amd64 && cgo

package kernels

/*
#include "ternary_x86.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/bitnet-dev/bitnet/quant"
)

// ternaryGrain is how many matrix rows a worker of the SIMD ternary kernels
// takes at a time: a multiple of every row tile (16 rows for AVX-512
// decode, 8 for AVX2, 4 for prefill).
const ternaryGrain = 16

// quantizeGrain is the fewest activation values worth a worker of its own
// in QuantizeRows.
const quantizeGrain = 1 << 15

// ternaryScratch is the per-worker memory of the SIMD ternary kernels
// (arranged activations, their sums, unpacked codes). Worker i's buffer is
// only touched by the call that runs as worker i inside Pool.Run, which
// serializes operations, so no lock is needed.
type ternaryScratch struct {
	once sync.Once
	bufs [][]byte
}

// ternaryTypeCode is the C kernels' code of a ternary type (-1: none).
func ternaryTypeCode(t quant.Type) C.int {
	switch t {
	case quant.I2_S:
		return C.BITNET_TERN_I2S
	case quant.TQ2_0:
		return C.BITNET_TERN_TQ2
	case quant.TQ1_0:
		return C.BITNET_TERN_TQ1
	}
	return -1
}

// aligned64 returns a pointer to the first 64-byte aligned byte of buf.
func aligned64(buf []byte) unsafe.Pointer {
	p := unsafe.Pointer(unsafe.SliceData(buf))
	return unsafe.Add(p, (64-uintptr(p)%64)%64)
}

// MatMulI8 implements Backend with the AVX2 or AVX-512 VNNI kernels. The
// results are bit for bit those of Reference.MatMulI8.
func (s *simd) MatMulI8(out []float32, w *Matrix, q []int8, sc []float32, n int) {
	typ := ternaryTypeCode(w.Type)
	if typ < 0 || n <= 0 {
		s.Reference.MatMulI8(out, w, q, sc, n)
		return
	}
	rows, cols := w.Rows, w.Cols
	// The C code does not check bounds: fail here as the Go code would.
	_, _, _ = out[n*rows-1], q[n*cols-1], sc[n-1]
	_ = w.Data[rows*w.RowBytes-1]
	wide := C.int(0)
	if s.level == levelAVX512 {
		wide = 1
	}
	need := int(C.bitnet_tern_scratch_bytes(wide, typ, C.int64_t(cols), C.int64_t(n))) + 64
	s.tern.once.Do(func() { s.tern.bufs = make([][]byte, s.pool.Threads()) })
	wp := (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(w.Data)))
	qp := (*C.int8_t)(unsafe.Pointer(unsafe.SliceData(q)))
	sp := (*C.float)(unsafe.Pointer(unsafe.SliceData(sc)))
	op := (*C.float)(unsafe.Pointer(unsafe.SliceData(out)))
	s.pool.Run(rows, ternaryGrain, func(worker, lo, hi int) {
		buf := grow(s.tern.bufs[worker], need)
		s.tern.bufs[worker] = buf
		scratch := (*C.uint8_t)(aligned64(buf))
		if wide != 0 {
			C.bitnet_tern_matmul_avx512(wp, C.int64_t(w.RowBytes), typ, C.int64_t(cols), C.int64_t(rows), qp, sp,
				C.int64_t(n), C.float(w.Scale), op, C.int64_t(lo), C.int64_t(hi), scratch)
		} else {
			C.bitnet_tern_matmul_avx2(wp, C.int64_t(w.RowBytes), typ, C.int64_t(cols), C.int64_t(rows), qp, sp,
				C.int64_t(n), C.float(w.Scale), op, C.int64_t(lo), C.int64_t(hi), scratch)
		}
	})
}

// QuantizeRows implements Backend with the AVX2 or AVX-512 kernels: the
// same q and s as Reference.QuantizeRows (quant.QuantizeActivations).
func (s *simd) QuantizeRows(q []int8, sc []float32, x []float32, n, cols int) {
	if n <= 0 || cols <= 0 {
		s.Reference.QuantizeRows(q, sc, x, n, cols)
		return
	}
	_, _, _ = q[n*cols-1], sc[n-1], x[n*cols-1]
	run := func(lo, hi int) {
		xp := (*C.float)(unsafe.Pointer(&x[lo*cols]))
		qp := (*C.int8_t)(unsafe.Pointer(&q[lo*cols]))
		sp := (*C.float)(unsafe.Pointer(&sc[lo]))
		if s.level == levelAVX512 {
			C.bitnet_quant_rows_avx512(xp, qp, sp, C.int64_t(hi-lo), C.int64_t(cols))
		} else {
			C.bitnet_quant_rows_avx2(xp, qp, sp, C.int64_t(hi-lo), C.int64_t(cols))
		}
	}
	if n == 1 || n*cols < 2*quantizeGrain {
		run(0, n)
		return
	}
	s.pool.Run(n, max(1, quantizeGrain/cols), func(_, lo, hi int) { run(lo, hi) })
}
