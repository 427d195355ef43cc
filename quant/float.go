package quant

import (
	"encoding/binary"
	"math"
	"sync"
)

// F32ToF16 converts f to IEEE 754 binary16 bits, rounding to nearest even.
// Values beyond the half range become ±Inf; NaN becomes a quiet NaN
// (sign | 0x7e00), as ggml's software conversion produces.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Half subnormal (or zero): value = m * 2^-24 with
		// m = (1.man) * 2^(exp-127+24) = full >> (14 - e).
		if exp == 0 {
			return sign // float32 subnormals are far below half's range
		}
		shift := uint32(14 - e)
		if shift > 24 {
			return sign // below half of the smallest subnormal
		}
		full := man | 0x800000
		return sign | uint16(roundShift(full, shift))
	}
	// Normal: a carry out of the mantissa bumps the exponent, and a carry
	// out of exponent 30 yields 0x7c00 (Inf), both as IEEE requires.
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// roundShift returns v >> s rounded to nearest even (1 <= s <= 31).
func roundShift(v, s uint32) uint32 {
	q := v >> s
	rem := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// F16ToF32 converts IEEE 754 binary16 bits to float32 (exact). NaNs keep
// their payload and come out quiet, as hardware conversion and ggml give
// them.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f && man != 0:
		return math.Float32frombits(sign | 0x7fc00000 | man<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	f := float32(man) * (1.0 / (1 << 24)) // subnormal: exact
	if sign != 0 {
		f = -f
	}
	return f
}

var f16Table = sync.OnceValue(func() *[65536]float32 {
	t := new([65536]float32)
	for i := range t {
		t[i] = F16ToF32(uint16(i))
	}
	return t
})

// F16ToF32Table returns the float32 value of every half-precision bit
// pattern. The table is built on first use and shared; callers must not
// modify it.
func F16ToF32Table() *[65536]float32 { return f16Table() }

// F32ToBF16 converts f to bfloat16 bits as ggml_compute_fp32_to_bf16 does:
// NaN is forced quiet (its top mantissa bit set), everything else rounds to
// nearest even (overflowing to ±Inf).
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((uint64(u) + uint64(0x7fff+((u>>16)&1))) >> 16)
}

// BF16ToF32 converts bfloat16 bits to float32 (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

func dequantF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantF32(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dequantF16(dst []float32, src []byte) {
	t := F16ToF32Table()
	for i := range dst {
		dst[i] = t[binary.LittleEndian.Uint16(src[2*i:])]
	}
}

func quantF16(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
	}
}

func dequantBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func quantBF16(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}

// getF16 reads a little-endian half at b[0:2] as float32.
func getF16(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

// putF16 writes f as a little-endian half at b[0:2].
func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }
