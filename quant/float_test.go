package quant

import (
	"math"
	"testing"

	"github.com/x448/float16"
)

func TestF16ToF32MatchesX448ForEveryHalf(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := F16ToF32(h)
		want := float16.Frombits(h).Float32()
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("F16ToF32(%#04x) = %#08x, want %#08x", h, math.Float32bits(got), math.Float32bits(want))
		}
	}
}

func TestF16ToF32TableMatchesFunctionAndIsBuiltOnce(t *testing.T) {
	tab := F16ToF32Table()
	if tab != F16ToF32Table() {
		t.Fatal("F16ToF32Table returned two different tables")
	}
	for i := range tab {
		if math.Float32bits(tab[i]) != math.Float32bits(F16ToF32(uint16(i))) {
			t.Fatalf("table[%#04x] = %v, want %v", i, tab[i], F16ToF32(uint16(i)))
		}
	}
}

// checkF16 compares F32ToF16 with x448/float16 (IEEE round to nearest
// even) on f, ignoring NaN payloads.
func checkF16(t *testing.T, f float32) {
	t.Helper()
	got := F32ToF16(f)
	want := uint16(float16.Fromfloat32(f))
	if f != f {
		if got&0x7c00 != 0x7c00 || got&0x3ff == 0 || got&0x200 == 0 {
			t.Fatalf("F32ToF16(NaN %#08x) = %#04x, want a quiet NaN", math.Float32bits(f), got)
		}
		return
	}
	if got != want {
		t.Fatalf("F32ToF16(%g = %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
	}
}

func TestF32ToF16RoundsToNearestEvenLikeX448(t *testing.T) {
	// Every half value, and the exact midpoints and their neighbours
	// between consecutive halves (ties and near-ties), in both signs.
	for i := 0; i < 0x7c00; i++ {
		lo := F16ToF32(uint16(i))
		hi := F16ToF32(uint16(i + 1))
		mid := float32((float64(lo) + float64(hi)) / 2) // exact in float32
		for _, f := range []float32{lo, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9)} {
			checkF16(t, f)
			checkF16(t, -f)
		}
	}
	// Random bit patterns, including NaN, Inf and float32 subnormals.
	s := uint32(12345)
	for i := 0; i < 1<<20; i++ {
		s = s*1664525 + 1013904223
		checkF16(t, math.Float32frombits(s))
	}
	for _, f := range []float32{0, float32(math.Inf(1)), float32(math.Inf(-1)), 65504, 65519.996, 65520, math.MaxFloat32, 1e-45, 2.9802322e-08, 2.9802326e-08} {
		checkF16(t, f)
		checkF16(t, -f)
	}
}

func TestF32ToF16HandValues(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff}, {65520, 0x7c00},
		{5.9604645e-08, 0x0001},       // smallest subnormal 2^-24
		{2.9802322e-08, 0x0000},       // 2^-25: a tie, rounds to even zero
		{1.0009765625, 0x3c01},        // 1 + 2^-10
		{1.00048828125, 0x3c00},       // 1 + 2^-11: tie, stays even
		{1.00146484375, 0x3c02},       // 1 + 3*2^-11: tie, rounds up to even
		{6.1035156e-05, 0x0400},       // smallest normal 2^-14
		{float32(math.NaN()), 0x7e00}, // canonical quiet NaN
	}
	for _, c := range cases {
		if got := F32ToF16(c.f); got != c.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

func TestF32ToBF16RoundsHalfToEvenAndQuietsNaN(t *testing.T) {
	cases := []struct {
		in, want uint32 // float32 bits in, bf16 bits out
	}{
		{0x3f800000, 0x3f80}, // 1.0
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0x3f807fff, 0x3f80}, // below the tie
		{0x7f800000, 0x7f80}, // +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7f7fffff, 0x7f80}, // MaxFloat32 rounds to Inf
		{0x7f800001, 0x7fc0}, // signalling NaN made quiet, not rounded to Inf
		{0xff810000, 0xffc1}, // NaN payload kept
		{0x00000001, 0x0000}, // tiny subnormal
		{0x80000000, 0x8000}, // -0
	}
	for _, c := range cases {
		if got := F32ToBF16(math.Float32frombits(c.in)); uint32(got) != c.want {
			t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := BF16ToF32(0xc040); got != -3 {
		t.Errorf("BF16ToF32(0xc040) = %v, want -3", got)
	}
}

func TestF16AndBF16HandBlocksDequantize(t *testing.T) {
	src := []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xff, 0x7b, 0x00, 0xfc}
	want := []float32{1, -2, 5.9604645e-08, 65504, float32(math.Inf(-1))}
	if i := sameFloats(dequantizeBytes(t, F16, src, 5), want); i >= 0 {
		t.Errorf("F16 element %d differs", i)
	}
	srcB := []byte{0x80, 0x3f, 0x40, 0xc0, 0x80, 0x7f}
	wantB := []float32{1, -3, float32(math.Inf(1))}
	if i := sameFloats(dequantizeBytes(t, BF16, srcB, 3), wantB); i >= 0 {
		t.Errorf("BF16 element %d differs", i)
	}
	if got := quantizeBytes(t, F16, []float32{1, -2}); string(got) != "\x00\x3c\x00\xc0" {
		t.Errorf("F16 bytes % x", got)
	}
	if got := quantizeBytes(t, BF16, []float32{1, -3}); string(got) != "\x80\x3f\x40\xc0" {
		t.Errorf("BF16 bytes % x", got)
	}
	if got := quantizeBytes(t, F32, []float32{1, -2}); string(got) != "\x00\x00\x80\x3f\x00\x00\x00\xc0" {
		t.Errorf("F32 bytes % x", got)
	}
}

func TestFloatRoundTripsWithinHalfULP(t *testing.T) {
	x := referenceInput()
	f32 := dequantizeBytes(t, F32, quantizeBytes(t, F32, x), len(x))
	if i := sameFloats(f32, x); i >= 0 {
		t.Fatalf("F32 round trip changed element %d", i)
	}
	h := dequantizeBytes(t, F16, quantizeBytes(t, F16, x), len(x))
	b := dequantizeBytes(t, BF16, quantizeBytes(t, BF16, x), len(x))
	for i, v := range x {
		// half: 11 significant bits, subnormal step 2^-24.
		if e := math.Abs(float64(h[i] - v)); e > math.Abs(float64(v))/2048+1.0/(1<<25) {
			t.Fatalf("F16 element %d: %v -> %v", i, v, h[i])
		}
		if e := math.Abs(float64(b[i] - v)); e > math.Abs(float64(v))/256 {
			t.Fatalf("BF16 element %d: %v -> %v", i, v, b[i])
		}
	}
}
