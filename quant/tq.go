package quant

// TQ1_0 and TQ2_0: llama.cpp's ternary block types, blocks of 256 weights
// with one f16 scale d (the block's largest magnitude); value = (code-1)*d
// with codes 0, 1, 2.
//
// TQ2_0 (66 bytes): qs[64], d. Two halves of 128 weights; in half h, byte
// 32h+m holds weight 128h + m + 32n in bits 2n..2n+1 (n = 0..3).
//
// TQ1_0 (54 bytes): qs[48], qh[4], d. Five trits per byte, stored as
// ceil(v*256/243) where v is their base-3 number, first trit most
// significant. qs[m] (m < 32) holds weights m + 32n (n = 0..4); qs[32+m]
// (m < 16) holds 160 + m + 16n; qh[j] holds 240 + j + 4n (n = 0..3) as the
// top four trits. Trit n of byte b is ((b * 3^n mod 256) * 3) >> 8.

const (
	tq1Bytes = 54
	tq2Bytes = 66
	tq1Qh    = 48 // offset of qh
	tq1D     = 52 // offset of d
	tq2D     = 64 // offset of d
)

var pow3 = [5]byte{1, 3, 9, 27, 81}

// tqScale returns the block's largest magnitude and its reciprocal (0 for
// an all-zero block), as quantize_row_tq{1,2}_0_ref compute them.
func tqScale(x []float32) (d, id float32) {
	for _, v := range x {
		d = max(d, absf(v))
	}
	if d != 0 {
		id = 1 / d
	}
	return d, id
}

// tqCode is lroundf(x*id) + 1, kept in 0..2 for non-finite inputs.
func tqCode(x, id float32) byte {
	return byte(clampInt(roundAway(x*id), -1, 1) + 1)
}

func dequantTQ2_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*tq2Bytes : (b+1)*tq2Bytes]
		out := dst[b*qkK : (b+1)*qkK]
		d := getF16(blk[tq2D:])
		for h := 0; h < 2; h++ {
			for n := 0; n < 4; n++ {
				for m := 0; m < 32; m++ {
					q := int32(blk[32*h+m]>>(2*n)) & 3
					out[128*h+32*n+m] = float32(q-1) * d
				}
			}
		}
	}
}

func quantTQ2_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*tq2Bytes : (b+1)*tq2Bytes]
		d, id := tqScale(x)
		for h := 0; h < 2; h++ {
			for m := 0; m < 32; m++ {
				var q byte
				for n := 0; n < 4; n++ {
					q |= tqCode(x[128*h+32*n+m], id) << (2 * n)
				}
				blk[32*h+m] = q
			}
		}
		putF16(blk[tq2D:], d)
	}
}

// trit returns trit n (0 = most significant) of a TQ1_0 byte.
func trit(b byte, n int) int32 {
	q := b * pow3[n] // mod 256 by byte arithmetic
	return int32((uint16(q) * 3) >> 8)
}

func dequantTQ1_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*tq1Bytes : (b+1)*tq1Bytes]
		out := dst[b*qkK : (b+1)*qkK]
		d := getF16(blk[tq1D:])
		for n := 0; n < 5; n++ {
			for m := 0; m < 32; m++ {
				out[32*n+m] = float32(trit(blk[m], n)-1) * d
			}
		}
		for n := 0; n < 5; n++ {
			for m := 0; m < 16; m++ {
				out[160+16*n+m] = float32(trit(blk[32+m], n)-1) * d
			}
		}
		for n := 0; n < 4; n++ {
			for j := 0; j < 4; j++ {
				out[240+4*n+j] = float32(trit(blk[tq1Qh+j], n)-1) * d
			}
		}
	}
}

// packTrits turns a base-3 number v < 243 into its stored byte,
// ceil(v * 256 / 243).
func packTrits(v uint16) byte { return byte((v*256 + 242) / 243) }

func quantTQ1_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*tq1Bytes : (b+1)*tq1Bytes]
		d, id := tqScale(x)
		for m := 0; m < 32; m++ {
			var v uint16
			for n := 0; n < 5; n++ {
				v = v*3 + uint16(tqCode(x[32*n+m], id))
			}
			blk[m] = packTrits(v)
		}
		for m := 0; m < 16; m++ {
			var v uint16
			for n := 0; n < 5; n++ {
				v = v*3 + uint16(tqCode(x[160+16*n+m], id))
			}
			blk[32+m] = packTrits(v)
		}
		for j := 0; j < 4; j++ {
			var v uint16
			for n := 0; n < 4; n++ {
				v = v*3 + uint16(tqCode(x[240+4*n+j], id))
			}
			blk[tq1Qh+j] = packTrits(v * 3)
		}
		putF16(blk[tq1D:], d)
	}
}
