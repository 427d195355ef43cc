package quant

import (
	"bytes"
	"math"
	"testing"
)

func TestTritPackingDecodesEveryFiveTritNumber(t *testing.T) {
	// ceil(v*256/243) must give back the five base-3 digits of v, most
	// significant first, for every v < 243.
	for v := 0; v < 243; v++ {
		b := packTrits(uint16(v))
		rest := v
		for n := 0; n < 5; n++ {
			digit := rest / int(pow3[4-n])
			rest %= int(pow3[4-n])
			if got := trit(b, n); got != int32(digit) {
				t.Fatalf("v=%d byte %d: trit %d = %d, want %d", v, b, n, got, digit)
			}
		}
	}
}

// tqHandInput returns a block of zeros with the ternary pattern of the TQ1_0
// hand test in place.
func tqHandInput() []float32 {
	x := make([]float32, 256)
	for n, c := range []float32{1, -1, 0, 1, 0} { // weights 0, 32, ..., 128
		x[32*n] = c
	}
	x[160+16*4] = 1                            // weight 224: last trit of qs[32]
	for n, c := range []float32{0, 1, -1, 0} { // weights 240, 244, 248, 252
		x[240+4*n] = c
	}
	return x
}

func TestTQ1_0HandBlock(t *testing.T) {
	x := tqHandInput()
	want := make([]byte, tq1Bytes)
	for i := 0; i < 48; i++ {
		want[i] = 128 // 11111 base 3 = 121, ceil(121*256/243) = 128
	}
	for i := 48; i < 52; i++ {
		want[i] = 127 // 1111(0) = 120, ceil(120*256/243) = 127
	}
	want[0] = 188  // codes 2,0,1,2,1: 162+0+9+6+1 = 178, ceil(178*256/243) = 188
	want[32] = 129 // codes 1,1,1,1,2: 122, ceil(122*256/243) = 129
	want[48] = 146 // codes 1,2,0,1 and a zero trit: 81+54+0+3 = 138 -> 146
	copy(want[tq1D:], []byte{0x00, 0x3c})
	got := quantizeBytes(t, TQ1_0, x)
	if !bytes.Equal(got, want) {
		t.Fatalf("TQ1_0 bytes\n got % x\nwant % x", got, want)
	}
	if i := sameFloats(dequantizeBytes(t, TQ1_0, got, 256), x); i >= 0 {
		t.Fatalf("TQ1_0 hand block element %d differs", i)
	}
}

func TestTQ2_0HandBlockRoundsHalfAwayFromZero(t *testing.T) {
	// d = max|x| = 2; x/d = ±0.5 rounds away from zero to ±1.
	x := make([]float32, 256)
	x[0], x[32], x[64], x[96] = 2, -2, 1, -1 // codes 2, 0, 2, 0
	x[128+1+32*3] = 0.5                      // 0.25 -> code 1
	x[128+1] = -1.5                          // -0.75 -> code 0
	want := make([]byte, tq2Bytes)
	for i := 0; i < 64; i++ {
		want[i] = 0x55
	}
	want[0] = 0x22    // 2 | 0<<2 | 2<<4 | 0<<6
	want[32+1] = 0x54 // code 0 in bits 0-1, ones above
	copy(want[tq2D:], []byte{0x00, 0x40})
	got := quantizeBytes(t, TQ2_0, x)
	if !bytes.Equal(got, want) {
		t.Fatalf("TQ2_0 bytes\n got % x\nwant % x", got, want)
	}
	y := dequantizeBytes(t, TQ2_0, got, 256)
	for i, w := range map[int]float32{0: 2, 32: -2, 64: 2, 96: -2, 129: -2, 225: 0, 5: 0} {
		if y[i] != w {
			t.Errorf("y[%d] = %v, want %v", i, y[i], w)
		}
	}
}

func TestTQ2_0Code3DequantizesAsTwiceD(t *testing.T) {
	blk := make([]byte, tq2Bytes)
	blk[0] = 0x03
	copy(blk[tq2D:], f16(0.5))
	if y := dequantizeBytes(t, TQ2_0, blk, 256); y[0] != 1 || y[32] != -0.5 {
		t.Errorf("y[0] = %v, y[32] = %v, want 1 and -0.5 (ggml reads code 3 as +2)", y[0], y[32])
	}
}

func TestTQRoundTripsTernaryExactlyAndOthersWithinHalfScale(t *testing.T) {
	for _, typ := range []Type{TQ1_0, TQ2_0} {
		// Ternary input with an f16-exact scale per block survives exactly.
		x := lcgValues(512, 3, 20)
		for i, v := range x {
			x[i] = float32(clampInt(roundAway(v/3), -1, 1)) * 0.375
		}
		x[0], x[256] = 0.375, -0.375 // make sure every block has max|x| = 0.375
		if i := sameFloats(dequantizeBytes(t, typ, quantizeBytes(t, typ, x), 512), x); i >= 0 {
			t.Errorf("%v: ternary element %d not exact", typ, i)
		}
		// Any input: error within half the block scale.
		r := referenceInput()
		y := dequantizeBytes(t, typ, quantizeBytes(t, typ, r), len(r))
		for b := 0; b < len(r)/256; b++ {
			d := float64(maxAbs(r[256*b : 256*b+256]))
			for i := 256 * b; i < 256*(b+1); i++ {
				if e := math.Abs(float64(y[i] - r[i])); e > d/2+d/2048 {
					t.Fatalf("%v element %d: %v -> %v (d %g)", typ, i, r[i], y[i], d)
				}
			}
		}
	}
}
