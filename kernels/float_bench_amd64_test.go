//go:build amd64 && cgo

package kernels

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/bitnet-dev/bitnet/quant"
)

// The 2B-4T output head (vocab x hidden), the largest float matrix of the
// BitNet models.
const benchHeadRows, benchHeadCols = 128256, 2560

// benchRawMatrix fills a rows x cols matrix of typ with random bytes that
// decode to finite values of a weight's size (speed does not depend on the
// values, but NaN and subnormal inputs must not skew it).
func benchRawMatrix(b *testing.B, typ quant.Type, rows, cols int) *Matrix {
	b.Helper()
	rb, ok := floatRowBytes(typ, cols)
	if !ok {
		b.Fatalf("no kernel for %v", typ)
	}
	data := make([]byte, rows*rb)
	r := rand.New(rand.NewPCG(uint64(typ), 1))
	for i := 0; i+8 <= len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], r.Uint64())
	}
	small := func() uint16 { return quant.F32ToF16(float32(r.NormFloat64() * 0.02)) }
	switch typ {
	case quant.F32:
		for i := 0; i < len(data); i += 4 {
			binary.LittleEndian.PutUint32(data[i:], uint32(0x3c000000|binary.LittleEndian.Uint32(data[i:])&0x807fffff))
		}
	case quant.F16:
		for i := 0; i < len(data); i += 2 {
			binary.LittleEndian.PutUint16(data[i:], 0x2000|binary.LittleEndian.Uint16(data[i:])&0x83ff)
		}
	case quant.BF16:
		for i := 0; i < len(data); i += 2 {
			binary.LittleEndian.PutUint16(data[i:], 0x3c00|binary.LittleEndian.Uint16(data[i:])&0x807f)
		}
	case quant.Q8_0:
		for i := 0; i < len(data); i += 34 {
			binary.LittleEndian.PutUint16(data[i:], small())
		}
	case quant.Q6_K:
		for i := 0; i < len(data); i += 210 {
			binary.LittleEndian.PutUint16(data[i+208:], small())
		}
	}
	m, err := NewMatrix("bench", typ, rows, cols, data, 1)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchBackends lists "go" and this CPU's SIMD levels.
func benchBackends(pool *Pool) []Backend {
	out := []Backend{NewReference(pool)}
	for _, name := range simdLevels() {
		out = append(out, newSIMD(pool, name))
	}
	return out
}

func benchThreads() []int {
	if runtime.NumCPU() == 1 {
		return []int{1}
	}
	return []int{1, runtime.NumCPU()}
}

// benchMatMul runs MatMul of m with n tokens on every backend and thread
// count, reporting the weight bytes streamed per second.
func benchMatMul(b *testing.B, m *Matrix, n int) {
	x := make([]float32, n*m.Cols)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	out := make([]float32, n*m.Rows)
	for _, threads := range benchThreads() {
		pool := NewPool(threads)
		for _, be := range benchBackends(pool) {
			b.Run(fmt.Sprintf("%s/threads=%d", be.Name(), threads), func(b *testing.B) {
				b.SetBytes(int64(len(m.Data)))
				for b.Loop() {
					be.MatMul(out, m, x, n)
				}
			})
		}
		pool.Close()
	}
}

// BenchmarkFloatMatMulHead2B4T is the 2B-4T output head (128256 x 2560)
// for one token: F16 (657 MB), Q8_0 and Q6_K. MB/s is weight bytes.
func BenchmarkFloatMatMulHead2B4T(b *testing.B) {
	for _, typ := range []quant.Type{quant.F16, quant.Q8_0, quant.Q6_K} {
		b.Run(typ.String(), func(b *testing.B) {
			benchMatMul(b, benchRawMatrix(b, typ, benchHeadRows, benchHeadCols), 1)
		})
	}
}

// BenchmarkFloatMatMul2560 is a 2560 x 2560 matrix: decode (n=1) and a
// prefill batch (n=16) for F32, and n=1 for the 16-bit types.
func BenchmarkFloatMatMul2560(b *testing.B) {
	for _, c := range []struct {
		typ quant.Type
		n   int
	}{{quant.F32, 1}, {quant.F32, 16}, {quant.F32, 128}, {quant.F16, 1}, {quant.F16, 16}, {quant.BF16, 1}, {quant.Q8_0, 1}, {quant.Q8_0, 16}, {quant.Q6_K, 1}} {
		b.Run(fmt.Sprintf("%v/n=%d", c.typ, c.n), func(b *testing.B) {
			benchMatMul(b, benchRawMatrix(b, c.typ, 2560, 2560), c.n)
		})
	}
}

// BenchmarkFloatRMSNorm normalizes rows of 2560 (one token, a batch of 64).
func BenchmarkFloatRMSNorm(b *testing.B) {
	const dim = 2560
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 64} {
		x, w := make([]float32, n*dim), make([]float32, dim)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		out := make([]float32, n*dim)
		pool := NewPool(1)
		for _, be := range benchBackends(pool) {
			b.Run(fmt.Sprintf("n=%d/%s", n, be.Name()), func(b *testing.B) {
				b.SetBytes(int64(4 * n * dim))
				for b.Loop() {
					be.RMSNorm(out, x, w, n, dim, 1e-5)
				}
			})
		}
		pool.Close()
	}
}

// BenchmarkFloatAttend is one decoded token of 2B-4T attention (20 query
// heads, 5 KV heads of 128, rotate-half) after 511 cached positions.
func BenchmarkFloatAttend(b *testing.B) {
	a := AttentionShape{Heads: 20, KVHeads: 5, HeadDim: 128, Scale: 0.08838835}
	rot := NewRopeTable(500000, 128, RopeHalf)
	const start = 511
	r := rand.New(rand.NewPCG(9, 10))
	kvDim := a.KVHeads * a.HeadDim
	k, v := make([]float32, (start+1)*kvDim), make([]float32, (start+1)*kvDim)
	q := make([]float32, a.Heads*a.HeadDim)
	for _, s := range [][]float32{k, v, q} {
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
	}
	out := make([]float32, len(q))
	for _, threads := range benchThreads() {
		pool := NewPool(threads)
		for _, be := range benchBackends(pool) {
			b.Run(fmt.Sprintf("%s/threads=%d", be.Name(), threads), func(b *testing.B) {
				for b.Loop() {
					be.Attend(out, q, k, v, 1, start, a, rot)
				}
			})
		}
		pool.Close()
	}
}
