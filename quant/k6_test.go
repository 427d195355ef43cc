package quant

import (
	"math"
	"testing"
)

func TestNearestIntRoundsHalfToEven(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want int32
	}{{0.5, 0}, {1.5, 2}, {2.5, 2}, {-0.5, 0}, {-1.5, -2}, {-2.5, -2}, {0.49999997, 0}, {31.6, 32}, {-32.4, -32}, {4194303, 4194303}} {
		if got := nearestInt(c.in); got != c.want {
			t.Errorf("nearestInt(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestQ6_KHandBytesDequantize(t *testing.T) {
	blk := make([]byte, q6KBytes)
	copy(blk[q6KD:], f16(0.5))
	blk[q6KSc+0] = 2
	blk[q6KSc+2] = 0xff // -1
	blk[q6KSc+4] = 4
	blk[q6KSc+6] = 0x80 // -128
	blk[q6KSc+9] = 1    // second half, l/16 = 1
	blk[0] = 0x21       // ql: weight 0 low nibble 1, weight 64 low nibble 2
	blk[32] = 0x43      // weight 32 low nibble 3, weight 96 low nibble 4
	blk[q6KQh] = 0xe4   // high bits: weight 0: 0, 32: 1, 64: 2, 96: 3
	blk[64+16] = 0x0f   // weight 128+16: low nibble 15
	blk[q6KQh+32+16] = 3
	got := dequantizeBytes(t, Q6_K, blk, 256)
	want := map[int]float32{
		0:   0.5 * 2 * float32(1+0-32),     // -31
		32:  0.5 * -1 * float32(3+16-32),   // 6.5
		64:  0.5 * 4 * float32(2+32-32),    // 4
		96:  0.5 * -128 * float32(4+48-32), // -1280
		1:   0.5 * 2 * -32,                 // all-zero codes read as -32
		144: 0.5 * 1 * float32(15+48-32),   // 15.5
		128: 0,                             // scale 0
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("x[%d] = %v, want %v", i, got[i], w)
		}
	}
}

func TestQ6_KHandBlockQuantizesExactLattice(t *testing.T) {
	// Every sub-block holds l/8 for l = -32, -28, ..., 28: the search
	// finds scale 1/8 exactly, d = -(1/8)/128 = -2^-10 (half 0x9400),
	// every int8 scale is -128 and the stored codes are L = l + 32 = 4i.
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(4*(i%16)-32) / 8
	}
	got := quantizeBytes(t, Q6_K, x)
	if got[q6KD] != 0x00 || got[q6KD+1] != 0x94 {
		t.Errorf("d bytes % x, want 00 94", got[q6KD:])
	}
	for j := 0; j < 16; j++ {
		if got[q6KSc+j] != 0x80 {
			t.Errorf("scale %d = %#x, want 0x80", j, got[q6KSc+j])
		}
	}
	// ql[l] = (L[l] & 15) | (L[l+64] & 15) << 4 with L[i] = 4*(i%16).
	for l, w := range map[int]byte{0: 0x00, 1: 0x44, 3: 0xcc, 5: 0x44, 32 + 3: 0xcc, 64 + 2: 0x88} {
		if got[l] != w {
			t.Errorf("ql[%d] = %#x, want %#x", l, got[l], w)
		}
	}
	// qh[l] = L>>4 of weights l, l+32, l+64, l+96 in bits 0-1, 2-3, 4-5, 6-7.
	for l, w := range map[int]byte{0: 0x00, 5: 0x55, 9: 0xaa, 15: 0xff, 32 + 15: 0xff} {
		if got[q6KQh+l] != w {
			t.Errorf("qh[%d] = %#x, want %#x", l, got[q6KQh+l], w)
		}
	}
	if i := sameFloats(dequantizeBytes(t, Q6_K, got, 256), x); i >= 0 {
		t.Fatalf("Q6_K lattice element %d not exact", i)
	}
}

func TestQ6_KRoundTripWithinSixBitStep(t *testing.T) {
	x := referenceInput()
	y := dequantizeBytes(t, Q6_K, quantizeBytes(t, Q6_K, x), len(x))
	for b := 0; b < len(x)/256; b++ {
		amax := float64(maxAbs(x[256*b : 256*b+256]))
		var se float64
		for i := 256 * b; i < 256*(b+1); i++ {
			e := math.Abs(float64(y[i] - x[i]))
			// 63 levels over ±amax: a step is about amax/32; the
			// scale search and the int8 sub-block scales keep every
			// error within one step.
			if e > amax/32 {
				t.Fatalf("block %d element %d: %v -> %v (amax %g)", b, i, x[i], y[i], amax)
			}
			se += e * e
		}
		// and the RMS error within a third of a step (uniform rounding
		// error alone gives step/sqrt(12)).
		if rms, bound := math.Sqrt(se/256), amax/96; rms > bound {
			t.Errorf("block %d: RMS error %g above %g", b, rms, bound)
		}
	}
}

func TestQ6_KZeroBlockIsAllZeroBytes(t *testing.T) {
	got := quantizeBytes(t, Q6_K, make([]float32, 256))
	for i, v := range got {
		if v != 0 {
			t.Fatalf("byte %d = %#x, want 0", i, v)
		}
	}
}

func TestMakeQXQuantsFindsExactScale(t *testing.T) {
	x := []float32{3, -6, 9, 0, -93, 90, 1.5, 3, 0, 0, 0, 0, 0, 0, 0, 96}
	L := make([]int8, 16)
	// largest magnitude 96 is positive, so ggml's scale is negative:
	// codes l = round(-32*x/96) and scale -3.
	s := makeQXQuants(32, x, L)
	if math.Abs(float64(s)+3) > 1e-6 {
		t.Fatalf("scale = %v, want -3", s)
	}
	for i, v := range x {
		l := int32(L[i]) - 32
		if got := float32(l) * -3; got != v && !(v == 1.5 && (l == 0 || l == -1)) {
			t.Errorf("x[%d] = %v reconstructs as %v", i, v, got)
		}
	}
}
