package quant

// Q8_0: blocks of 32 weights, 34 bytes: f16 d, then 32 int8 codes;
// value = q * d.

const (
	q8Block   = 32
	q8_0Bytes = 34
)

func dequantQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/q8Block; b++ {
		blk := src[b*q8_0Bytes : (b+1)*q8_0Bytes]
		out := dst[b*q8Block : (b+1)*q8Block]
		d := getF16(blk)
		for j := range out {
			out[j] = float32(int8(blk[2+j])) * d
		}
	}
}

// quantQ8_0 follows quantize_row_q8_0_ref: d = max|x|/127 (float32, stored
// as f16), code = roundf(x * (1/d)), rounding half away from zero. Codes
// are computed from the float32 d, not the stored half.
func quantQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/q8Block; b++ {
		x := src[b*q8Block : (b+1)*q8Block]
		blk := dst[b*q8_0Bytes : (b+1)*q8_0Bytes]
		var amax float32
		for _, v := range x {
			amax = max(amax, absf(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(blk, d)
		for j, v := range x {
			blk[2+j] = byte(int8(clampInt(roundAway(v*id), -128, 127)))
		}
	}
}
