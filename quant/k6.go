package quant

// Q6_K: super-blocks of 256 weights, 210 bytes:
//
//	ql[128]     low 4 bits of the 6-bit codes
//	qh[64]      high 2 bits
//	scales[16]  int8 scale of each 16-weight sub-block
//	d           f16 super-block scale
//
// value = d * scales[k] * (q - 32). Each half of 128 weights uses 64 ql
// bytes, 32 qh bytes and 8 scales: in half h, for l in 0..31, weight
// 128h + l + 32n (n = 0..3) takes its low nibble from ql[64h + l] (n = 0
// low, n = 2 high) or ql[64h + 32 + l] (n = 1 low, n = 3 high), its high
// bits from bits 2n..2n+1 of qh[32h + l], and scale index 8h + l/16 + 2n.

const (
	qkK      = 256
	q6KBytes = 210
	q6KQh    = 128 // offset of qh
	q6KSc    = 192 // offset of scales
	q6KD     = 208 // offset of d
)

// groupMaxEps is ggml's GROUP_MAX_EPS: groups whose largest magnitude is
// below it count as all zero.
const groupMaxEps = 1e-15

func dequantQ6_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q6KBytes : (b+1)*q6KBytes]
		out := dst[b*qkK : (b+1)*qkK]
		d := getF16(blk[q6KD:])
		for h := 0; h < 2; h++ {
			ql := blk[64*h : 64*h+64]
			qh := blk[q6KQh+32*h : q6KQh+32*h+32]
			sc := blk[q6KSc+8*h : q6KSc+8*h+8]
			y := out[128*h : 128*h+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&0x0f|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0x0f|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				y[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				y[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				y[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				y[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}

// quantQ6_K follows quantize_row_q6_K_ref: each 16-weight sub-block gets a
// scale from makeQXQuants (nmax 32, weights x^2), the scales are quantized
// to int8 against d = -max_scale/128 (max_scale is the sub-block scale of
// largest magnitude, sign kept), and the codes are recomputed against the
// quantized scales.
func quantQ6_K(dst []byte, src []float32) {
	var L [qkK]int8
	var scales [qkK / 16]float32
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q6KBytes : (b+1)*q6KBytes]
		var maxScale, maxAbsScale float32
		for ib := range scales {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := absf(s); a > maxAbsScale {
				maxAbsScale = a
				maxScale = s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(blk)
			continue
		}
		iscale := -128 / maxScale
		putF16(blk[q6KD:], 1/iscale)
		for ib, s := range scales {
			blk[q6KSc+ib] = byte(int8(min(127, nearestInt(iscale*s))))
		}
		dh := getF16(blk[q6KD:])
		for j := 0; j < qkK/16; j++ {
			d := dh * float32(int8(blk[q6KSc+j]))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(x[16*j+ii] / d)
				l = max(-32, min(31, l))
				L[16*j+ii] = int8(l + 32)
			}
		}
		for h := 0; h < 2; h++ {
			Lh := L[128*h : 128*h+128]
			ql := blk[64*h : 64*h+64]
			qh := blk[q6KQh+32*h : q6KQh+32*h+32]
			for l := 0; l < 32; l++ {
				q1 := byte(Lh[l]) & 0x0f
				q2 := byte(Lh[l+32]) & 0x0f
				q3 := byte(Lh[l+64]) & 0x0f
				q4 := byte(Lh[l+96]) & 0x0f
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = byte(Lh[l])>>4 | (byte(Lh[l+32])>>4)<<2 |
					(byte(Lh[l+64])>>4)<<4 | (byte(Lh[l+96])>>4)<<6
			}
		}
	}
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no importance
// weights: it picks codes in [-nmax, nmax-1] (stored offset by nmax in L)
// and a scale minimising sum x^2 (x - scale*l)^2, trying the plain absmax
// scale and 18 nearby ones. It returns the scale (negative when the
// largest-magnitude value is positive, as in ggml).
func makeQXQuants(nmax int32, x []float32, L []int8) float32 {
	var mx, amax float32
	for _, v := range x {
		if a := absf(v); a > amax {
			amax = a
			mx = v
		}
	}
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	fn := float32(nmax)
	iscale := -fn / mx
	var sumlx, suml2 float32
	for i, v := range x {
		l := max(-nmax, min(nmax-1, nearestInt(iscale*v)))
		L[i] = int8(l + nmax)
		w := v * v
		fl := float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := int32(-9); is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fn + float32(0.1*float32(is))) / mx
		sumlx, suml2 = 0, 0
		for _, v := range x {
			l := max(-nmax, min(nmax-1, nearestInt(iscale*v)))
			w := v * v
			fl := float32(l)
			sumlx += float32(float32(w*v) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				l := max(-nmax, min(nmax-1, nearestInt(iscale*v)))
				L[i] = int8(l + nmax)
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}
