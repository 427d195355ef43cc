package quant

import "math"

// Q4_0 and Q4_1: blocks of 32 weights with 4-bit codes. Byte j of the 16
// code bytes holds weight j in its low nibble and weight j+16 in its high
// nibble.
//
// Q4_0 block (18 bytes): f16 d, 16 code bytes; value = (q - 8) * d.
// Q4_1 block (20 bytes): f16 d, f16 m, 16 code bytes; value = q*d + m.

const (
	q4Block   = 32
	q4_0Bytes = 18
	q4_1Bytes = 20
)

func dequantQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/q4Block; b++ {
		blk := src[b*q4_0Bytes : (b+1)*q4_0Bytes]
		out := dst[b*q4Block : (b+1)*q4Block]
		d := getF16(blk)
		for j := 0; j < q4Block/2; j++ {
			q := blk[2+j]
			out[j] = float32(int32(q&0x0f)-8) * d
			out[j+q4Block/2] = float32(int32(q>>4)-8) * d
		}
	}
}

// quantQ4_0 follows quantize_row_q4_0_ref: d = -max/8 where max is the
// first value of largest magnitude (sign kept), code = min(15,
// trunc(x/d + 8.5)) computed as x * (1/d).
func quantQ4_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/q4Block; b++ {
		x := src[b*q4Block : (b+1)*q4Block]
		blk := dst[b*q4_0Bytes : (b+1)*q4_0Bytes]
		var amax, mx float32
		for _, v := range x {
			if amax < absf(v) {
				amax = absf(v)
				mx = v
			}
		}
		d := mx / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(blk, d)
		for j := 0; j < q4Block/2; j++ {
			q0 := clampInt(truncf(float32(x[j]*id)+8.5), 0, 15)
			q1 := clampInt(truncf(float32(x[j+q4Block/2]*id)+8.5), 0, 15)
			blk[2+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func dequantQ4_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/q4Block; b++ {
		blk := src[b*q4_1Bytes : (b+1)*q4_1Bytes]
		out := dst[b*q4Block : (b+1)*q4Block]
		d := getF16(blk)
		m := getF16(blk[2:])
		for j := 0; j < q4Block/2; j++ {
			q := blk[4+j]
			out[j] = float32(float32(q&0x0f)*d) + m
			out[j+q4Block/2] = float32(float32(q>>4)*d) + m
		}
	}
}

// quantQ4_1 follows quantize_row_q4_1_ref: d = (max-min)/15, m = min,
// code = min(15, trunc((x-min) * (1/d) + 0.5)).
func quantQ4_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/q4Block; b++ {
		x := src[b*q4Block : (b+1)*q4Block]
		blk := dst[b*q4_1Bytes : (b+1)*q4_1Bytes]
		lo := float32(math.MaxFloat32)
		hi := float32(-math.MaxFloat32)
		for _, v := range x {
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(blk, d)
		putF16(blk[2:], lo)
		for j := 0; j < q4Block/2; j++ {
			q0 := clampInt(truncf(float32((x[j]-lo)*id)+0.5), 0, 15)
			q1 := clampInt(truncf(float32((x[j+q4Block/2]-lo)*id)+0.5), 0, 15)
			blk[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

// truncf rounds toward zero, like a C float-to-int conversion.
func truncf(x float32) float32 { return float32(math.Trunc(float64(x))) }
