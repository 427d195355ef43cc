//go:build amd64 && cgo

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-dev/bitnet/quant"
)

// ternBackends returns every SIMD backend this CPU runs, on pools of
// threads workers, and the reference on its own pool.
func ternBackends(t testing.TB, threads int) (map[string]*simd, *Reference) {
	t.Helper()
	levels := simdLevels()
	if len(levels) == 0 {
		t.Skip("no AVX2 on this CPU")
	}
	if levels[0] != "avx512" {
		t.Logf("no AVX-512 VNNI on this CPU: testing %v only", levels)
	}
	out := map[string]*simd{}
	for _, l := range levels {
		p := NewPool(threads)
		t.Cleanup(p.Close)
		out[l] = newSIMD(p, l).(*simd)
	}
	p := NewPool(threads)
	t.Cleanup(p.Close)
	return out, NewReference(p)
}

// Block-scale patterns of the TQ test matrices.
const (
	ternScalesOnes   = iota // every block 1: the whole-row integer path
	ternScalesEqual         // every block the same value, not 1 (llama.cpp's quantizer)
	ternScalesMixed         // random per block, zeros and negatives included
	ternScalesRowMix        // some rows all 1, others mixed (per-row choice inside a tile)
	ternScalesPatterns
)

var ternScalesNames = [ternScalesPatterns]string{"ones", "equal", "mixed", "rowmix"}

// ternRawMatrix returns a rows x cols matrix of type typ with random code bytes
// (every byte value, so unused codes too) and block scales by pattern.
func ternRawMatrix(t testing.TB, r *rand.Rand, typ quant.Type, rows, cols, pattern int) *Matrix {
	t.Helper()
	rb, err := quant.RowBytes(typ, uint64(cols))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, int(rb)*rows)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if typ != quant.I2_S {
		bs, doff := 66, 64
		if typ == quant.TQ1_0 {
			bs, doff = 54, 52
		}
		equal := quant.F32ToF16(0.6137)
		for row := 0; row < rows; row++ {
			rowOnes := pattern == ternScalesRowMix && r.IntN(2) == 0
			for b := 0; b < cols/256; b++ {
				h := uint16(0x3C00)
				switch {
				case pattern == ternScalesEqual:
					h = equal
				case pattern == ternScalesMixed || (pattern == ternScalesRowMix && !rowOnes):
					switch r.IntN(5) {
					case 0:
						h = 0x3C00
					case 1:
						h = 0
					case 2:
						h = quant.F32ToF16(-0.25)
					default:
						h = quant.F32ToF16(float32(r.NormFloat64()))
					}
				}
				binary.LittleEndian.PutUint16(data[row*int(rb)+b*bs+doff:], h)
			}
		}
	}
	m, err := NewMatrix("w", typ, rows, cols, data, 0.8125)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Activation patterns.
const (
	ternActsRandom = iota
	ternActsMin    // all -128
	ternActsZero
	ternActsMax // all 127
	ternActsPatterns
)

func ternActivations(r *rand.Rand, pattern, n, cols int) ([]int8, []float32) {
	q, s := make([]int8, n*cols), make([]float32, n)
	bias := make([]int, n) // large block sums: products of 25+ bits, so rounding shows
	for t := range bias {
		bias[t] = r.IntN(201) - 100
	}
	for i := range q {
		switch pattern {
		case ternActsRandom:
			q[i] = int8(max(-128, min(127, bias[i/cols]+r.IntN(101)-50)))
			if r.IntN(16) == 0 {
				q[i] = int8(r.Uint32())
			}
		case ternActsMin:
			q[i] = -128
		case ternActsMax:
			q[i] = 127
		}
	}
	for i := range s {
		s[i] = float32(math.Exp(r.Float64()*12 - 2))
	}
	return q, s
}

// ternSameBits reports the first element where got and want differ in any bit.
func ternSameBits(t *testing.T, what string, got, want []float32, rows int) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: token %d row %d: %v (%#x), reference %v (%#x)", what, i/rows, i%rows,
				got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func ternCheck(t *testing.T, backends map[string]*simd, ref *Reference, what string, m *Matrix, q []int8, s []float32, n int) {
	t.Helper()
	want := make([]float32, n*m.Rows)
	ref.MatMulI8(want, m, q, s, n)
	for name, be := range backends {
		got := make([]float32, n*m.Rows)
		for i := range got {
			got[i] = float32(math.NaN())
		}
		be.MatMulI8(got, m, q, s, n)
		ternSameBits(t, fmt.Sprintf("%s %s", name, what), got, want, m.Rows)
	}
}

func TestSIMDMatMulI8MatchesReferenceBitForBit(t *testing.T) {
	backends, ref := ternBackends(t, 3)
	r := rand.New(rand.NewPCG(21, 22))
	colsOf := map[quant.Type][]int{
		quant.I2_S:  {128, 256, 384, 2560, 6912},
		quant.TQ2_0: {256, 512, 768, 2560, 6912},
		quant.TQ1_0: {256, 512, 768, 2560, 6912},
	}
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0} {
		for _, cols := range colsOf[typ] {
			for _, rows := range []int{1, 7, 37, 70} {
				patterns := []int{ternScalesOnes}
				if typ != quant.I2_S {
					patterns = []int{ternScalesOnes, ternScalesEqual, ternScalesMixed, ternScalesRowMix}
				}
				for _, pat := range patterns {
					m := ternRawMatrix(t, r, typ, rows, cols, pat)
					for _, n := range []int{1, 2, 3, 5, 17} {
						if cols == 6912 && rows > 7 && n > 3 {
							continue // keep the reference's time down; TestSIMDMatMulI8TokenBlocks covers it
						}
						q, s := ternActivations(r, ternActsRandom, n, cols)
						ternCheck(t, backends, ref, fmt.Sprintf("%v %dx%d scales %s n=%d", typ, rows, cols, ternScalesNames[pat], n), m, q, s, n)
					}
				}
			}
		}
	}
}

func TestSIMDMatMulI8ExtremeActivations(t *testing.T) {
	backends, ref := ternBackends(t, 2)
	r := rand.New(rand.NewPCG(23, 24))
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0} {
		for _, pat := range []int{ternScalesOnes, ternScalesMixed} {
			m := ternRawMatrix(t, r, typ, 45, 2560, pat)
			for act := 0; act < ternActsPatterns; act++ {
				for _, n := range []int{1, 6} {
					q, s := ternActivations(r, act, n, m.Cols)
					ternCheck(t, backends, ref, fmt.Sprintf("%v scales %s activations %d n=%d", typ, ternScalesNames[pat], act, n), m, q, s, n)
				}
			}
		}
	}
}

// Many tokens: the activations are arranged a block of tokens at a time,
// with a ragged last block and ragged token tiles; the matrix is split over
// an odd number of workers.
func TestSIMDMatMulI8TokenBlocksMatchReference(t *testing.T) {
	backends, ref := ternBackends(t, 3)
	r := rand.New(rand.NewPCG(25, 26))
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0} {
		for _, pat := range []int{ternScalesOnes, ternScalesRowMix} {
			m := ternRawMatrix(t, r, typ, 23, 6912, pat)
			for _, n := range []int{31, 67} {
				q, s := ternActivations(r, ternActsRandom, n, m.Cols)
				ternCheck(t, backends, ref, fmt.Sprintf("%v scales %s n=%d", typ, ternScalesNames[pat], n), m, q, s, n)
			}
		}
	}
}

// TQ matrices written by the quantizer from real-valued weights, with
// all-zero blocks (block scale 0) and one scale per block.
func TestSIMDMatMulI8QuantizedTQWithZeroBlocks(t *testing.T) {
	backends, ref := ternBackends(t, 2)
	r := rand.New(rand.NewPCG(27, 28))
	rows, cols := 33, 1280
	for _, typ := range []quant.Type{quant.TQ2_0, quant.TQ1_0} {
		vals := make([]float32, rows*cols)
		for b := 0; b < len(vals)/256; b++ {
			if b%3 == 1 {
				continue // an all-zero block
			}
			d := float32(r.Float64() + 0.1)
			for i := b * 256; i < (b+1)*256; i++ {
				vals[i] = d * float32(r.IntN(3)-1)
			}
		}
		sz, _ := quant.TensorBytes(typ, []uint64{uint64(cols), uint64(rows)})
		data := make([]byte, sz)
		if err := quant.Quantize(typ, vals, data); err != nil {
			t.Fatal(err)
		}
		m, err := NewMatrix("w", typ, rows, cols, data, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 4, 9} {
			q, s := ternActivations(r, ternActsRandom, n, cols)
			ternCheck(t, backends, ref, fmt.Sprintf("%v quantized n=%d", typ, n), m, q, s, n)
		}
	}
}

func TestSIMDMatMulI8PanicsOnShortOutput(t *testing.T) {
	backends, _ := ternBackends(t, 1)
	r := rand.New(rand.NewPCG(29, 30))
	m := ternRawMatrix(t, r, quant.I2_S, 8, 256, ternScalesOnes)
	q, s := ternActivations(r, ternActsRandom, 2, 256)
	for name, be := range backends {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: a short output slice was accepted", name)
				}
			}()
			be.MatMulI8(make([]float32, 2*8-1), m, q, s, 2)
		}()
	}
}

func TestSIMDQuantizeRowsMatchesReference(t *testing.T) {
	backends, ref := ternBackends(t, 2)
	r := rand.New(rand.NewPCG(31, 32))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, cols := range []int{1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 2560, 2561, 6912} {
		for _, kind := range []string{"normal", "ties", "zeros", "nan", "inf", "tiny", "outlier"} {
			n := 3
			x := make([]float32, n*cols)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 3)
			}
			switch kind {
			case "ties":
				// max |x| = 127 makes s = 1: x*s is exactly k + 1/2.
				for i := range x {
					x[i] = float32(r.IntN(255)-127) + 0.5
				}
				for t := 0; t < n; t++ {
					x[t*cols] = 127
				}
			case "zeros":
				clear(x)
			case "nan":
				x[r.IntN(len(x))] = nan
				x[0] = nan
			case "inf":
				x[r.IntN(len(x))] = -inf
			case "tiny":
				for i := range x {
					x[i] *= 1e-7
				}
			case "outlier":
				x[r.IntN(len(x))] = 1e30
			}
			wantQ, wantS := make([]int8, n*cols), make([]float32, n)
			ref.QuantizeRows(wantQ, wantS, x, n, cols)
			for name, be := range backends {
				q, s := make([]int8, n*cols), make([]float32, n)
				for i := range q {
					q[i] = 99
				}
				be.QuantizeRows(q, s, x, n, cols)
				for i := range wantS {
					if math.Float32bits(s[i]) != math.Float32bits(wantS[i]) {
						t.Fatalf("%s cols %d %s: row %d scale %v, reference %v", name, cols, kind, i, s[i], wantS[i])
					}
				}
				for i := range wantQ {
					if q[i] != wantQ[i] {
						t.Fatalf("%s cols %d %s: element %d (x %v): %d, reference %d", name, cols, kind, i, x[i], q[i], wantQ[i])
					}
				}
			}
		}
	}
}

// Many rows at once: the rows are split over the workers.
func TestSIMDQuantizeRowsManyRowsMatchReference(t *testing.T) {
	backends, ref := ternBackends(t, 3)
	r := rand.New(rand.NewPCG(33, 34))
	n, cols := 67, 2560
	x := make([]float32, n*cols)
	for i := range x {
		x[i] = float32(r.NormFloat64() * float64(1+i/cols))
	}
	wantQ, wantS := make([]int8, n*cols), make([]float32, n)
	ref.QuantizeRows(wantQ, wantS, x, n, cols)
	for name, be := range backends {
		q, s := make([]int8, n*cols), make([]float32, n)
		be.QuantizeRows(q, s, x, n, cols)
		for i := range wantQ {
			if q[i] != wantQ[i] || s[i/cols] != wantS[i/cols] {
				t.Fatalf("%s: element %d: %d (s %v), reference %d (s %v)", name, i, q[i], s[i/cols], wantQ[i], wantS[i/cols])
			}
		}
	}
}
