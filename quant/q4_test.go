package quant

import (
	"bytes"
	"math"
	"testing"
)

// q4HandQs is the code bytes for codes q[j] = j and q[16+j] = 15-j.
func q4HandQs() []byte {
	qs := make([]byte, 16)
	for j := range qs {
		qs[j] = byte(j) | byte(15-j)<<4
	}
	return qs
}

func TestQ4_0HandBlockQuantizesToTruncatedCodes(t *testing.T) {
	// max = -8 (first of largest magnitude): d = -8/-8 = 1, and
	// code = trunc(x + 8.5): x = j-8 gives j, x = 7-j gives 15-j.
	x := make([]float32, 32)
	for j := 0; j < 16; j++ {
		x[j] = float32(j - 8)
		x[16+j] = float32(7 - j)
	}
	want := append([]byte{0x00, 0x3c}, q4HandQs()...)
	got := quantizeBytes(t, Q4_0, x)
	if !bytes.Equal(got, want) {
		t.Fatalf("Q4_0 bytes\n got % x\nwant % x", got, want)
	}
	if i := sameFloats(dequantizeBytes(t, Q4_0, got, 32), x); i >= 0 {
		t.Fatalf("Q4_0 hand block element %d not exact", i)
	}
}

func TestQ4_0HandBytesDequantize(t *testing.T) {
	blk := make([]byte, 18)
	copy(blk, []byte{0x00, 0x40}) // d = 2
	blk[2] = 0x9f                 // x[0] = (15-8)*2, x[16] = (9-8)*2
	blk[17] = 0x08                // x[15] = 0, x[31] = -16
	got := dequantizeBytes(t, Q4_0, blk, 32)
	for i, w := range map[int]float32{0: 14, 16: 2, 15: 0, 31: -16, 1: -16} {
		if got[i] != w {
			t.Errorf("x[%d] = %v, want %v", i, got[i], w)
		}
	}
}

func TestQ4_1HandBlockQuantizesToTruncatedCodes(t *testing.T) {
	// min = -3, max = 12: d = 1, m = -3, code = trunc(x + 3 + 0.5).
	x := make([]float32, 32)
	for j := 0; j < 16; j++ {
		x[j] = float32(j - 3)
		x[16+j] = float32(12 - j)
	}
	want := append([]byte{0x00, 0x3c, 0x00, 0xc2}, q4HandQs()...)
	got := quantizeBytes(t, Q4_1, x)
	if !bytes.Equal(got, want) {
		t.Fatalf("Q4_1 bytes\n got % x\nwant % x", got, want)
	}
	if i := sameFloats(dequantizeBytes(t, Q4_1, got, 32), x); i >= 0 {
		t.Fatalf("Q4_1 hand block element %d not exact", i)
	}
}

func TestQ4_1HandBytesDequantize(t *testing.T) {
	blk := make([]byte, 20)
	copy(blk, []byte{0x00, 0x38, 0x00, 0xbc}) // d = 0.5, m = -1
	blk[4] = 0xa3                             // x[0] = 3*0.5-1, x[16] = 10*0.5-1
	got := dequantizeBytes(t, Q4_1, blk, 32)
	if got[0] != 0.5 || got[16] != 4 || got[1] != -1 {
		t.Errorf("got x[0]=%v x[16]=%v x[1]=%v, want 0.5 4 -1", got[0], got[16], got[1])
	}
}

func TestQ4RoundTripsWithinOneStep(t *testing.T) {
	x := referenceInput()
	y0 := dequantizeBytes(t, Q4_0, quantizeBytes(t, Q4_0, x), len(x))
	y1 := dequantizeBytes(t, Q4_1, quantizeBytes(t, Q4_1, x), len(x))
	for b := 0; b < len(x)/32; b++ {
		xb := x[32*b : 32*b+32]
		amax := float64(maxAbs(xb))
		lo, hi := float64(xb[0]), float64(xb[0])
		for _, v := range xb {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
		d1 := (hi - lo) / 15
		// Q4_0: half a step, except the extreme opposite to max, which
		// clamps to code 15 and is off by a whole step d = amax/8; plus
		// the f16 rounding of d on up to 8 steps.
		bound0 := amax/8*(1+8.0/2048) + 1e-12
		// Q4_1: half a step, plus f16 rounding of d (15 steps) and m.
		bound1 := d1/2 + 15*d1/2048 + math.Abs(lo)/2048 + 1e-12
		for j := range xb {
			if e := math.Abs(float64(y0[32*b+j] - xb[j])); e > bound0 {
				t.Fatalf("Q4_0 block %d element %d: %v -> %v (bound %g)", b, j, xb[j], y0[32*b+j], bound0)
			}
			if e := math.Abs(float64(y1[32*b+j] - xb[j])); e > bound1 {
				t.Fatalf("Q4_1 block %d element %d: %v -> %v (bound %g)", b, j, xb[j], y1[32*b+j], bound1)
			}
		}
	}
}

func TestQ4ConstantAndZeroBlocksAreExact(t *testing.T) {
	for _, v := range []float32{0, 1.5, -0.25} {
		x := make([]float32, 32)
		for i := range x {
			x[i] = v
		}
		for _, typ := range []Type{Q4_0, Q4_1} {
			y := dequantizeBytes(t, typ, quantizeBytes(t, typ, x), 32)
			if i := sameFloats(y, x); i >= 0 && !(v == 0 && y[i] == 0) {
				t.Errorf("%v constant %v: element %d = %v", typ, v, i, y[i])
			}
		}
	}
}
