//go:build amd64 && cgo

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-dev/bitnet/quant"
)

// floatSIMDTypes are the weight types with SIMD MatMul kernels.
var floatSIMDTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q6_K}

// floatBackends returns the SIMD backends of this CPU on pool (skipping the
// test when it has none).
func floatBackends(t testing.TB, pool *Pool) []*simd {
	t.Helper()
	var out []*simd
	for _, name := range simdLevels() {
		out = append(out, newSIMD(pool, name).(*simd))
	}
	if len(out) == 0 {
		t.Skip("no SIMD level on this CPU")
	}
	return out
}

func floatRandVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// floatMatrix quantizes random normal weights (times a scale) as typ.
func floatMatrix(t testing.TB, r *rand.Rand, typ quant.Type, rows, cols int) *Matrix {
	t.Helper()
	vals := floatRandVec(r, rows*cols)
	sz, err := quant.TensorBytes(typ, []uint64{uint64(cols), uint64(rows)})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, sz)
	if err := quant.Quantize(typ, vals, data); err != nil {
		t.Fatal(err)
	}
	m, err := NewMatrix("w", typ, rows, cols, data, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// floatAbsDot is sum_c |W[r][c] x[c]| * |Scale| in float64: the scale of the
// rounding error of any summation order.
func floatAbsDot(m *Matrix, r int, x []float32) float64 {
	row := make([]float32, m.Cols)
	row = floatRow(m, r, row)
	var s float64
	for c, w := range row {
		s += math.Abs(float64(w) * float64(x[c]))
	}
	return s * math.Abs(float64(m.Scale))
}

// floatColsFor lists the column counts tested for typ: block multiples for the
// block types, odd ones too for the others.
func floatColsFor(typ quant.Type) []int {
	switch typ {
	case quant.Q8_0:
		return []int{32, 96, 256}
	case quant.Q6_K:
		return []int{256, 768}
	}
	return []int{1, 7, 16, 65, 256, 333}
}

func TestSIMDMatMulMatchesReferenceWithinRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pool := NewPool(3)
	defer pool.Close()
	ref := NewReference(pool)
	for _, be := range floatBackends(t, pool) {
		for _, typ := range floatSIMDTypes {
			for _, rows := range []int{1, 7, 33, 128} {
				for _, cols := range floatColsFor(typ) {
					m := floatMatrix(t, r, typ, rows, cols)
					for _, n := range []int{1, 2, 3, 5, 17} {
						x := floatRandVec(r, n*cols)
						want, got := make([]float32, n*rows), make([]float32, n*rows)
						ref.MatMul(want, m, x, n)
						be.MatMul(got, m, x, n)
						for tk := 0; tk < n; tk++ {
							for i := 0; i < rows; i++ {
								bound := 1e-5 * floatAbsDot(m, i, x[tk*cols:(tk+1)*cols])
								g, w := got[tk*rows+i], want[tk*rows+i]
								if math.Abs(float64(g)-float64(w)) > bound {
									t.Fatalf("%s %v %dx%d n=%d token %d row %d: %v, Reference %v (bound %g)",
										be.Name(), typ, rows, cols, n, tk, i, g, w, bound)
								}
							}
						}
					}
				}
			}
		}
	}
}

// A token's outputs must not depend on the other tokens of the batch or on
// how rows are split over threads: prefill then gives the same logits as
// decoding token by token.
func TestSIMDMatMulIsBitIdenticalAcrossBatchSizesAndThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	pool1, pool3 := NewPool(1), NewPool(3)
	defer pool1.Close()
	defer pool3.Close()
	for i, be1 := range floatBackends(t, pool1) {
		be3 := floatBackends(t, pool3)[i]
		for _, typ := range floatSIMDTypes {
			rows, n := 45, 7
			cols := floatColsFor(typ)[1]
			m := floatMatrix(t, r, typ, rows, cols)
			x := floatRandVec(r, n*cols)
			batch := make([]float32, n*rows)
			be3.MatMul(batch, m, x, n)
			one := make([]float32, rows)
			for tk := 0; tk < n; tk++ {
				be1.MatMul(one, m, x[tk*cols:(tk+1)*cols], 1)
				for i, v := range one {
					if v != batch[tk*rows+i] {
						t.Fatalf("%s %v token %d row %d: alone on 1 thread %v, in a batch of %d on 3 threads %v",
							be1.Name(), typ, tk, i, v, n, batch[tk*rows+i])
					}
				}
			}
		}
	}
}

func TestSIMDMatMulReadsUnalignedF32Rows(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	pool := NewPool(2)
	defer pool.Close()
	ref := NewReference(pool)
	m := floatMatrix(t, r, quant.F32, 9, 37)
	buf := make([]byte, len(m.Data)+1)
	copy(buf[1:], m.Data)
	un, err := NewMatrix("w", quant.F32, m.Rows, m.Cols, buf[1:], m.Scale)
	if err != nil {
		t.Fatal(err)
	}
	x := floatRandVec(r, 2*m.Cols)
	for _, be := range floatBackends(t, pool) {
		aligned, unaligned := make([]float32, 2*m.Rows), make([]float32, 2*m.Rows)
		be.MatMul(aligned, m, x, 2)
		be.MatMul(unaligned, un, x, 2)
		want := make([]float32, 2*m.Rows)
		ref.MatMul(want, un, x, 2)
		for i := range aligned {
			if aligned[i] != unaligned[i] {
				t.Fatalf("%s output %d: aligned %v, unaligned %v", be.Name(), i, aligned[i], unaligned[i])
			}
			if bound := 1e-5 * floatAbsDot(m, i%m.Rows, x[i/m.Rows*m.Cols:]); math.Abs(float64(unaligned[i]-want[i])) > bound {
				t.Fatalf("%s output %d: %v, Reference %v", be.Name(), i, unaligned[i], want[i])
			}
		}
	}
}

func TestSIMDMatMulLeavesOtherTypesToReference(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	pool := NewPool(2)
	defer pool.Close()
	ref := NewReference(pool)
	m := floatMatrix(t, r, quant.Q4_0, 10, 64)
	x := floatRandVec(r, 3*64)
	want := make([]float32, 30)
	ref.MatMul(want, m, x, 3)
	for _, be := range floatBackends(t, pool) {
		got := make([]float32, 30)
		be.MatMul(got, m, x, 3)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s Q4_0 output %d: %v, Reference %v", be.Name(), i, got[i], want[i])
			}
		}
	}
}

func TestSIMDRMSNormIsBitIdenticalToReference(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	pool := NewPool(2)
	defer pool.Close()
	ref := NewReference(pool)
	for _, be := range floatBackends(t, pool) {
		for _, dim := range []int{1, 7, 64, 65, 2560} {
			for _, n := range []int{1, 3, 4, 5, 9} {
				x := floatRandVec(r, n*dim)
				for i := range x {
					x[i] *= float32(math.Ldexp(1, r.IntN(9)-4)) // mixed magnitudes: rounding differs by order
				}
				w := floatRandVec(r, dim)
				want, got := make([]float32, n*dim), make([]float32, n*dim)
				ref.RMSNorm(want, x, w, n, dim, 1e-5)
				be.RMSNorm(got, x, w, n, dim, 1e-5)
				inPlace := append([]float32(nil), x...)
				be.RMSNorm(inPlace, inPlace, w, n, dim, 1e-5)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(inPlace[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s dim %d n %d element %d: %v (in place %v), Reference %v", be.Name(), dim, n, i, got[i], inPlace[i], want[i])
					}
				}
			}
		}
	}
}

func TestSIMDAttendIsBitIdenticalToReference(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	pool := NewPool(3)
	defer pool.Close()
	ref := NewReference(pool)
	type shape struct{ heads, kvHeads, hd, ropeDims int }
	shapes := []shape{{4, 4, 8, 8}, {4, 2, 12, 8}, {4, 1, 64, 64}, {2, 2, 20, 16}, {20, 5, 128, 128}, {2, 1, 272, 272}}
	for _, be := range floatBackends(t, pool) {
		for _, sh := range shapes {
			for _, mode := range []RopeMode{RopeAdjacent, RopeHalf} {
				rot := NewRopeTable(10000, sh.ropeDims, mode)
				a := AttentionShape{Heads: sh.heads, KVHeads: sh.kvHeads, HeadDim: sh.hd, Scale: float32(1 / math.Sqrt(float64(sh.hd)))}
				for _, c := range [][2]int{{1, 0}, {3, 0}, {17, 0}, {1, 40}, {5, 70}, {2, 14}} {
					n, start := c[0], c[1]
					kvDim := sh.kvHeads * sh.hd
					q := floatRandVec(r, n*sh.heads*sh.hd)
					k, v := floatRandVec(r, (start+n)*kvDim), floatRandVec(r, (start+n)*kvDim)
					want, got := make([]float32, len(q)), make([]float32, len(q))
					ref.Attend(want, q, k, v, n, start, a, rot)
					be.Attend(got, q, k, v, n, start, a, rot)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %+v mode %d n %d start %d element %d: %v, Reference %v",
								be.Name(), sh, mode, n, start, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// The score kernels alone, over every block boundary: positions 1..70
// cover the 16- and 32-position blocks and the scalar rest.
func TestSIMDScoresAreBitIdenticalToReferenceDots(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	pool := NewPool(1)
	defer pool.Close()
	for _, be := range floatBackends(t, pool) {
		for _, hd := range []int{8, 12, 64} {
			for _, half := range []int{0, hd / 2, hd / 4} {
				rot := &RopeTable{Dims: 2 * half, Mode: RopeHalf}
				if half == 0 {
					rot.Mode = RopeAdjacent
				}
				a := AttentionShape{Heads: 1, KVHeads: 1, HeadDim: hd, Scale: 0.3}
				for npos := 1; npos <= 70; npos++ {
					q := floatRandVec(r, hd)
					k, v := floatRandVec(r, npos*hd), floatRandVec(r, npos*hd)
					want, got := make([]float32, hd), make([]float32, hd)
					NewReference(pool).Attend(want, q, k, v, 1, npos-1, a, rot)
					be.Attend(got, q, k, v, 1, npos-1, a, rot)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s hd %d half %d positions %d element %d: %v, Reference %v", be.Name(), hd, half, npos, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
