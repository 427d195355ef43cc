//go:build amd64 && cgo

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-dev/bitnet/quant"
)

// ternBenchThreads are the pool sizes benchmarked: one thread, and the
// two of the small machines the project is judged on (go test -cpu does not
// size the pools: a pool's workers run C code in parallel whatever
// GOMAXPROCS says).
var ternBenchThreads = []int{1, 2}

// ternBenchBackends are the backends to compare on a pool of threads
// workers: the reference and every SIMD level of this CPU.
func ternBenchBackends(b *testing.B, threads int) []Backend {
	p := NewPool(threads)
	b.Cleanup(p.Close)
	out := []Backend{NewReference(p)}
	for _, l := range simdLevels() {
		out = append(out, newSIMD(p, l))
	}
	return out
}

// ternBenchShapes are the ternary matrices of BitNet b1.58 2B-4T (rows x
// cols): q and o, k and v, gate and up, down.
var ternBenchShapes = [][2]int{{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}}

// BenchmarkMatMulI8 reports weight bytes streamed per second (MB/s) and
// int8 multiply-adds per second (GMAC/s), for decode (n=1) and prefill
// (n=128). "TQ2_0-gamma" has every block scale equal but not 1, as
// llama.cpp's quantizer writes it, which takes the per-block path.
func BenchmarkMatMulI8(b *testing.B) {
	r := rand.New(rand.NewPCG(41, 42))
	types := []struct {
		name    string
		typ     quant.Type
		pattern int
	}{
		{"I2_S", quant.I2_S, ternScalesOnes},
		{"TQ2_0", quant.TQ2_0, ternScalesOnes},
		{"TQ1_0", quant.TQ1_0, ternScalesOnes},
		{"TQ2_0-gamma", quant.TQ2_0, ternScalesEqual},
	}
	for _, ty := range types {
		for _, sh := range ternBenchShapes {
			m := ternRawMatrix(b, r, ty.typ, sh[0], sh[1], ty.pattern)
			for _, n := range []int{1, 128} {
				q, s := ternActivations(r, ternActsRandom, n, m.Cols)
				out := make([]float32, n*m.Rows)
				for _, th := range ternBenchThreads {
					for _, be := range ternBenchBackends(b, th) {
						name := fmt.Sprintf("%s/%dx%d/n=%d/%s/t=%d", ty.name, sh[0], sh[1], n, be.Name(), th)
						b.Run(name, func(b *testing.B) {
							b.SetBytes(int64(m.Rows * m.RowBytes))
							for b.Loop() {
								be.MatMulI8(out, m, q, s, n)
							}
							b.ReportMetric(float64(m.Rows*m.Cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
						})
					}
				}
			}
		}
	}
}

// BenchmarkMatMulI8Layers decodes one token through the seven ternary
// matrices of each of 8 layers of the 2B-4T shape (about 140 MB of I2_S,
// more than the caches hold), so the weights come from memory as in real
// decoding. BenchmarkReadBandwidth is the machine's limit to compare with.
func BenchmarkMatMulI8Layers(b *testing.B) {
	r := rand.New(rand.NewPCG(43, 44))
	var mats []*Matrix
	var bytes int64
	for layer := 0; layer < 8; layer++ {
		for _, sh := range [][2]int{{2560, 2560}, {640, 2560}, {640, 2560}, {2560, 2560}, {6912, 2560}, {6912, 2560}, {2560, 6912}} {
			m := ternRawMatrix(b, r, quant.I2_S, sh[0], sh[1], ternScalesOnes)
			mats = append(mats, m)
			bytes += int64(m.Rows * m.RowBytes)
		}
	}
	q, s := ternActivations(r, ternActsRandom, 1, 6912)
	out := make([]float32, 6912)
	for _, th := range ternBenchThreads {
		for _, be := range ternBenchBackends(b, th) {
			b.Run(fmt.Sprintf("%s/t=%d", be.Name(), th), func(b *testing.B) {
				b.SetBytes(bytes)
				for b.Loop() {
					for _, m := range mats {
						be.MatMulI8(out[:m.Rows], m, q[:m.Cols], s, 1)
					}
				}
			})
		}
	}
}

// BenchmarkReadBandwidth sums 256 MiB: a plain read-bandwidth loop, the
// memory limit for decode.
func BenchmarkReadBandwidth(b *testing.B) {
	buf := make([]uint64, 32<<20)
	for i := range buf {
		buf[i] = uint64(i)
	}
	for _, th := range ternBenchThreads {
		p := NewPool(th)
		b.Cleanup(p.Close)
		sums := make([]uint64, th)
		b.Run(fmt.Sprintf("t=%d", th), func(b *testing.B) {
			b.SetBytes(int64(len(buf) * 8))
			for b.Loop() {
				p.Run(len(buf), 1<<16, func(worker, lo, hi int) {
					var s0, s1, s2, s3 uint64
					for i := lo; i+4 <= hi; i += 4 {
						s0 += buf[i]
						s1 += buf[i+1]
						s2 += buf[i+2]
						s3 += buf[i+3]
					}
					sums[worker] += s0 + s1 + s2 + s3
				})
			}
		})
	}
}

// BenchmarkQuantizeRows reports activation bytes (float32) read per second,
// on one thread.
func BenchmarkQuantizeRows(b *testing.B) {
	backends := ternBenchBackends(b, 1)
	r := rand.New(rand.NewPCG(45, 46))
	for _, cols := range []int{2560, 6912} {
		for _, n := range []int{1, 128} {
			x := make([]float32, n*cols)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			q, s := make([]int8, n*cols), make([]float32, n)
			for _, be := range backends {
				b.Run(fmt.Sprintf("%d/n=%d/%s", cols, n, be.Name()), func(b *testing.B) {
					b.SetBytes(int64(4 * n * cols))
					for b.Loop() {
						be.QuantizeRows(q, s, x, n, cols)
					}
				})
			}
		}
	}
}
