//go:build amd64 && cgo

package kernels

/*
#include "float_simd.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"github.com/bitnet-dev/bitnet/quant"
)

// The float kernels of the SIMD backend (C in float_avx2.c and
// float_avx512.c). Their numerics:
//
//   - MatMul: each output is one fused multiply-add chain per vector lane
//     over the columns in order (8 lanes for AVX2, 16 for AVX-512, a
//     zero-padded masked step for a ragged end), then a horizontal sum,
//     then * Scale. Weights are dequantized to exactly Reference's float32
//     values first (in registers for one token; once per row into scratch,
//     reused by every token, for more). The sum order differs from
//     Reference's sequential float32 sum, so results differ by rounding
//     (the golden greedy tests of stories260K and bitllama2c still pass
//     with both levels); but each output is computed the same way whatever
//     the batch size, the thread count or the rows around it, so batched
//     prefill gives bit-identical logits to token-by-token decoding.
//   - RMSNorm is bit-identical to Reference: the sum of squares stays a
//     sequential float32 sum (four rows interleaved), the scaling pass is
//     elementwise.
//   - Attend is bit-identical to Reference: each q.k score is a float32
//     sum in Reference's order (lanes run different positions, over keys
//     transposed in blocks, never parts of one sum), the softmax is
//     Reference's Go code, and the value sums run over positions in order
//     with mul then add, lanes across the head.

// floatRowGrain is how many matrix rows a worker takes at a time in the
// SIMD MatMul (a multiple of the kernels' 8-row tiles).
const floatRowGrain = 16

// floatRowBytes returns the bytes of one row of cols weights of type t if
// the SIMD MatMul handles t, and whether it does.
func floatRowBytes(t quant.Type, cols int) (int, bool) {
	switch t {
	case quant.F32:
		return 4 * cols, true
	case quant.F16, quant.BF16:
		return 2 * cols, true
	case quant.Q8_0:
		return cols / 32 * 34, cols%32 == 0
	case quant.Q6_K:
		return cols / 256 * 210, cols%256 == 0
	}
	return 0, false
}

// MatMul implements Backend. Weight types without a SIMD kernel, and
// arguments Reference would reject, go to Reference.
func (s *simd) MatMul(out []float32, w *Matrix, x []float32, n int) {
	rows, cols := w.Rows, w.Cols
	rb, ok := floatRowBytes(w.Type, cols)
	if !ok || n <= 0 || rows <= 0 || cols <= 0 || rb != w.RowBytes || len(w.Data) < rows*rb ||
		len(out) < n*rows || len(x) < n*cols {
		s.Reference.MatMul(out, w, x, n)
		return
	}
	wp := (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(w.Data)))
	xp := (*C.float)(unsafe.Pointer(unsafe.SliceData(x)))
	op := (*C.float)(unsafe.Pointer(unsafe.SliceData(out)))
	typ, scale := C.int(w.Type), C.float(w.Scale)
	avx512 := s.level == levelAVX512
	s.pool.Run(rows, floatRowGrain, func(worker, lo, hi int) {
		var scratch *C.float
		if n > 1 && w.Type != quant.F32 {
			sc := &s.scratch[worker]
			sc.row = grow(sc.row, C.BITNET_F_DEQ_ROWS*cols)
			scratch = (*C.float)(unsafe.Pointer(unsafe.SliceData(sc.row)))
		}
		if avx512 {
			C.bitnet_f_matmul_avx512(typ, wp, C.int64_t(rb), C.int64_t(cols), C.int64_t(rows),
				C.int64_t(lo), C.int64_t(hi), xp, C.int64_t(n), op, scale, scratch)
		} else {
			C.bitnet_f_matmul_avx2(typ, wp, C.int64_t(rb), C.int64_t(cols), C.int64_t(rows),
				C.int64_t(lo), C.int64_t(hi), xp, C.int64_t(n), op, scale, scratch)
		}
	})
}

// RMSNorm implements Backend, bit-identical to Reference.
func (s *simd) RMSNorm(out, x, weight []float32, n, dim int, eps float32) {
	if n <= 0 || dim <= 0 || len(out) < n*dim || len(x) < n*dim || len(weight) < dim {
		s.Reference.RMSNorm(out, x, weight, n, dim, eps)
		return
	}
	op := (*C.float)(unsafe.Pointer(unsafe.SliceData(out)))
	xp := (*C.float)(unsafe.Pointer(unsafe.SliceData(x)))
	wp := (*C.float)(unsafe.Pointer(unsafe.SliceData(weight)))
	if s.level == levelAVX512 {
		C.bitnet_f_rmsnorm_avx512(op, xp, wp, C.int64_t(n), C.int64_t(dim), C.float(eps))
	} else {
		C.bitnet_f_rmsnorm_avx2(op, xp, wp, C.int64_t(n), C.int64_t(dim), C.float(eps))
	}
}

// Attend implements Backend, bit-identical to Reference: the q.k scores
// and the value sums run in C, the softmax in Go as in Reference.
func (s *simd) Attend(out, q, kCache, vCache []float32, n, start int, a AttentionShape, rot *RopeTable) {
	hd := a.HeadDim
	if n <= 0 || start < 0 || hd <= 0 || a.Heads <= 0 || a.KVHeads <= 0 || a.Heads%a.KVHeads != 0 {
		s.Reference.Attend(out, q, kCache, vCache, n, start, a, rot)
		return
	}
	qStride := a.Heads * hd
	kvStride := a.KVHeads * hd
	group := a.Heads / a.KVHeads
	half := 0
	if rot.Mode == RopeHalf {
		half = rot.Dims / 2
	}
	kvLen := (start + n) * kvStride
	if half < 0 || 2*half > hd || len(q) < n*qStride || len(out) < n*qStride || len(kCache) < kvLen || len(vCache) < kvLen {
		s.Reference.Attend(out, q, kCache, vCache, n, start, a, rot)
		return
	}
	avx512 := s.level == levelAVX512
	scale := C.float(a.Scale)
	s.pool.Run(n*a.Heads, 1, func(worker, lo, hi int) {
		sc := &s.scratch[worker]
		// The keys of one KV head, transposed in blocks by the score
		// kernel, serve its consecutive query heads (and later tokens).
		sc.row = grow(sc.row, (start+n)*hd)
		kt := (*C.float)(unsafe.Pointer(&sc.row[0]))
		ktHead, ktHave := -1, C.int64_t(0)
		for job := lo; job < hi; job++ {
			t, h := job/a.Heads, job%a.Heads
			pos := start + t
			kvh := h / group
			qp := (*C.float)(unsafe.Pointer(&q[t*qStride+h*hd]))
			kp := (*C.float)(unsafe.Pointer(&kCache[kvh*hd]))
			vp := (*C.float)(unsafe.Pointer(&vCache[kvh*hd]))
			op := (*C.float)(unsafe.Pointer(&out[t*qStride+h*hd]))
			sc.scores = grow(sc.scores, pos+1)
			scores := sc.scores
			sp := (*C.float)(unsafe.Pointer(&scores[0]))
			if kvh != ktHead {
				ktHead, ktHave = kvh, 0
			}
			if avx512 {
				ktHave = C.bitnet_f_scores_avx512(sp, qp, kp, C.int64_t(kvStride), C.int64_t(pos+1), C.int64_t(hd), C.int64_t(half), scale, kt, ktHave)
			} else {
				ktHave = C.bitnet_f_scores_avx2(sp, qp, kp, C.int64_t(kvStride), C.int64_t(pos+1), C.int64_t(hd), C.int64_t(half), scale, kt, ktHave)
			}
			maxS := float32(math.Inf(-1))
			for _, v := range scores {
				maxS = max(maxS, v)
			}
			var sum float32
			for p := range scores {
				e := float32(math.Exp(float64(scores[p] - maxS)))
				scores[p] = e
				sum += e
			}
			if avx512 {
				C.bitnet_f_values_avx512(op, sp, C.float(sum), vp, C.int64_t(kvStride), C.int64_t(pos+1), C.int64_t(hd))
			} else {
				C.bitnet_f_values_avx2(op, sp, C.float(sum), vp, C.int64_t(kvStride), C.int64_t(pos+1), C.int64_t(hd))
			}
		}
	})
}
