package quant

import "testing"

// Benchmarks print throughput; no test asserts speed.

func benchDequantize(b *testing.B, typ Type, n int) {
	x := lcgValues(n, 1, 20)
	size, _ := TensorBytes(typ, []uint64{uint64(n)})
	src := make([]byte, size)
	if err := Quantize(typ, x, src); err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, n)
	b.SetBytes(int64(4 * n))
	for b.Loop() {
		if err := Dequantize(typ, src, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDequantizeQ8_0(b *testing.B)  { benchDequantize(b, Q8_0, 1<<16) }
func BenchmarkDequantizeF16(b *testing.B)   { benchDequantize(b, F16, 1<<16) }
func BenchmarkDequantizeTQ2_0(b *testing.B) { benchDequantize(b, TQ2_0, 1<<16) }
func BenchmarkDequantizeI2_S(b *testing.B)  { benchDequantize(b, I2_S, 1<<16) }

func BenchmarkQuantizeActivations2560(b *testing.B) {
	x := lcgValues(2560, 1, 20)
	q := make([]int8, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		QuantizeActivations(x, q)
	}
}
