package quant

import (
	"math"
	"testing"
)

// lcgValues returns n deterministic float32 values: a 32-bit LCG (Numerical
// Recipes constants), its top 24 bits as a signed integer, divided by
// 2^shift. Every step is exact in float32, so numpy reproduces the values
// bit for bit (see ggufpy_test.go).
func lcgValues(n int, seed uint32, shift uint) []float32 {
	out := make([]float32, n)
	s := seed
	for i := range out {
		s = s*1664525 + 1013904223
		out[i] = float32(int32(s)>>8) / float32(uint32(1)<<shift)
	}
	return out
}

// latticeValues returns n multiples of 1/64 in [-100/64, 100/64], many of
// which land exactly on rounding ties after scaling.
func latticeValues(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32((i*37+11)%201-100) / 64
	}
	return out
}

// mixedValues returns n values: 32 zeros, 32 equal positives, 32 equal
// negatives, then LCG values.
func mixedValues(n int) []float32 {
	out := make([]float32, n)
	for i := 32; i < 64; i++ {
		out[i] = 0.75
	}
	for i := 64; i < 96; i++ {
		out[i] = -3
	}
	copy(out[96:], lcgValues(n-96, 7, 20))
	return out
}

// referenceInput is the 1024-value input shared with the gguf-py vectors.
func referenceInput() []float32 {
	var x []float32
	x = append(x, lcgValues(256, 1, 20)...)
	x = append(x, latticeValues(256)...)
	x = append(x, mixedValues(256)...)
	x = append(x, lcgValues(256, 99, 30)...)
	return x
}

// maxAbs returns the largest magnitude in x.
func maxAbs(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, absf(v))
	}
	return m
}

// quantizeBytes quantizes x with type t through the public API.
func quantizeBytes(t *testing.T, typ Type, x []float32) []byte {
	t.Helper()
	size, err := TensorBytes(typ, []uint64{uint64(len(x))})
	if err != nil {
		t.Fatalf("TensorBytes(%v, %d): %v", typ, len(x), err)
	}
	dst := make([]byte, size)
	if err := Quantize(typ, x, dst); err != nil {
		t.Fatalf("Quantize(%v): %v", typ, err)
	}
	return dst
}

// dequantizeBytes decodes src holding n elements of type typ.
func dequantizeBytes(t *testing.T, typ Type, src []byte, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	if err := Dequantize(typ, src, out); err != nil {
		t.Fatalf("Dequantize(%v): %v", typ, err)
	}
	return out
}

// f16 returns the little-endian bytes of the half nearest to f.
func f16(f float32) []byte {
	h := F32ToF16(f)
	return []byte{byte(h), byte(h >> 8)}
}

// sameFloats reports the first index where got and want differ bitwise
// (NaNs compare equal to NaNs), or -1.
func sameFloats(got, want []float32) int {
	if len(got) != len(want) {
		return 0
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			return i
		}
	}
	return -1
}
