package quant

import (
	"bytes"
	"math"
	"testing"
)

func TestQ8_0HandBlockRoundsHalfAwayFromZero(t *testing.T) {
	// amax = 31.75 = 127 * 0.25: d = 0.25, 1/d = 4.
	x := make([]float32, 32)
	x[0] = 31.75
	x[1] = -1.875 // -7.5 -> -8 (round half to even would give -8 too)
	x[2] = 0.375  // 1.5 -> 2
	x[3] = -0.125 // -0.5 -> -1 (even would give 0)
	x[4] = 0.625  // 2.5 -> 3 (even would give 2)
	x[5] = -31.75 // -127
	want := make([]byte, 34)
	copy(want, []byte{0x00, 0x34, 127, 0xf8, 2, 0xff, 3, 0x81})
	got := quantizeBytes(t, Q8_0, x)
	if !bytes.Equal(got, want) {
		t.Fatalf("Q8_0 bytes\n got % x\nwant % x", got, want)
	}
	y := dequantizeBytes(t, Q8_0, got, 32)
	for i, w := range []float32{31.75, -2, 0.5, -0.25, 0.75, -31.75, 0} {
		if y[i] != w {
			t.Errorf("y[%d] = %v, want %v", i, y[i], w)
		}
	}
}

func TestQ8_0RoundTripWithinHalfStep(t *testing.T) {
	x := referenceInput()
	y := dequantizeBytes(t, Q8_0, quantizeBytes(t, Q8_0, x), len(x))
	for b := 0; b < len(x)/32; b++ {
		d := float64(maxAbs(x[32*b:32*b+32])) / 127
		bound := d/2 + 127*d/2048 + 1e-12 // plus f16 rounding of d
		for j := 0; j < 32; j++ {
			i := 32*b + j
			if e := math.Abs(float64(y[i] - x[i])); e > bound {
				t.Fatalf("element %d: %v -> %v (bound %g)", i, x[i], y[i], bound)
			}
		}
	}
}
