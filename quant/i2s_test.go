package quant

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// i2sHand is a 128-weight tensor: weights 0, 32, 64, 96 are +1, -1, 0, +1
// (codes 2, 0, 1, 2 -> byte 0x86), everything else 0 (code 1 -> 0x55),
// scale 0.5.
func i2sHand() (codes []int8, packed []byte) {
	codes = make([]int8, 128)
	codes[0], codes[32], codes[64], codes[96] = 1, -1, 0, 1
	packed = bytes.Repeat([]byte{0x55}, 32)
	packed[0] = 0x86
	packed = append(packed, 0x00, 0x00, 0x00, 0x3f) // float32 0.5, little-endian
	packed = append(packed, make([]byte, 28)...)
	return codes, packed
}

func TestPackI2SHandBlockLayout(t *testing.T) {
	codes, want := i2sHand()
	got := make([]byte, len(want))
	for i := range got {
		got[i] = 0xee // the tail padding must be overwritten with zeros
	}
	if err := PackI2S(codes, 0.5, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("PackI2S\n got % x\nwant % x", got, want)
	}
}

func TestUnpackI2SAndDequantizeHandBlock(t *testing.T) {
	codes, packed := i2sHand()
	got := make([]int8, 128)
	scale, err := UnpackI2S(packed, got)
	if err != nil || scale != 0.5 {
		t.Fatalf("UnpackI2S: scale %v, err %v", scale, err)
	}
	for i := range codes {
		if got[i] != codes[i] {
			t.Fatalf("code %d = %d, want %d", i, got[i], codes[i])
		}
	}
	y := dequantizeBytes(t, I2_S, packed, 128)
	for i, c := range codes {
		if y[i] != float32(c)*0.5 {
			t.Fatalf("weight %d = %v, want %v", i, y[i], float32(c)*0.5)
		}
	}
	raw := make([]float32, 128)
	dequantI2SCodes(raw, packed[:32])
	if raw[0] != 1 || raw[32] != -1 || raw[64] != 0 || raw[96] != 1 {
		t.Errorf("unscaled codes %v %v %v %v", raw[0], raw[32], raw[64], raw[96])
	}
	if s, err := I2SScale(packed, 128); err != nil || s != 0.5 {
		t.Errorf("I2SScale = %v, %v", s, err)
	}
}

func TestPackUnpackI2SRoundTripOverSeveralBlocks(t *testing.T) {
	n := 5 * 128
	codes := make([]int8, n)
	for i, v := range lcgValues(n, 11, 20) {
		codes[i] = int8(clampInt(roundAway(v/3), -1, 1))
	}
	buf := make([]byte, n/4+I2STail)
	if err := PackI2S(codes, -1.25, buf); err != nil {
		t.Fatal(err)
	}
	back := make([]int8, n)
	scale, err := UnpackI2S(buf, back)
	if err != nil || scale != -1.25 {
		t.Fatalf("scale %v err %v", scale, err)
	}
	for i := range codes {
		if back[i] != codes[i] {
			t.Fatalf("code %d: %d -> %d", i, codes[i], back[i])
		}
	}
}

func TestI2SHelpersRejectBadSizesAndCodes(t *testing.T) {
	codes, packed := i2sHand()
	if err := PackI2S(codes[:100], 1, packed); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("PackI2S of 100 codes: %v", err)
	}
	if err := PackI2S(codes, 1, packed[:40]); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("PackI2S into a short dst: %v", err)
	}
	bad := append([]int8(nil), codes...)
	bad[7] = 2
	if err := PackI2S(bad, 1, make([]byte, 64)); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("PackI2S of code 2: %v", err)
	}
	if _, err := UnpackI2S(packed[:63], make([]int8, 128)); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("UnpackI2S of a short tensor: %v", err)
	}
	if _, err := UnpackI2S(packed, make([]int8, 129)); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("UnpackI2S of 129 weights: %v", err)
	}
	three := append([]byte(nil), packed...)
	three[5] = 0xff
	if _, err := UnpackI2S(three, make([]int8, 128)); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("UnpackI2S of code 3: %v", err)
	}
	if _, err := I2SScale(packed, 256); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("I2SScale with the wrong n: %v", err)
	}
	if _, err := I2SScale(packed, -128); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("I2SScale with negative n: %v", err)
	}
}

func TestQuantizeI2SStoresTernaryInputExactly(t *testing.T) {
	codes, _ := i2sHand()
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(codes[i%128]) * 0.0371
	}
	buf := quantizeBytes(t, I2_S, x)
	if s, _ := I2SScale(buf, 256); s != 0.0371 {
		t.Errorf("scale = %v, want 0.0371 (the ternary magnitude, not absmean)", s)
	}
	if i := sameFloats(dequantizeBytes(t, I2_S, buf, 256), x); i >= 0 {
		t.Fatalf("ternary weight %d not stored exactly", i)
	}
}

func TestQuantizeI2SUsesAbsmeanForGeneralInput(t *testing.T) {
	x := lcgValues(384, 5, 20)
	buf := quantizeBytes(t, I2_S, x)
	wantCodes := make([]int8, len(x))
	gamma := AbsmeanTernarize(x, wantCodes)
	codes := make([]int8, len(x))
	scale, err := UnpackI2S(buf, codes)
	if err != nil || scale != gamma {
		t.Fatalf("scale %v (err %v), want gamma %v", scale, err, gamma)
	}
	for i := range codes {
		if codes[i] != wantCodes[i] {
			t.Fatalf("code %d = %d, want %d", i, codes[i], wantCodes[i])
		}
	}
}

func TestQuantizeI2SRefusesNonFiniteWeights(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		x := make([]float32, 128)
		x[9] = bad
		err := Quantize(I2_S, x, make([]byte, 64))
		if !errors.Is(err, errs.ErrQuantization) {
			t.Errorf("Quantize(I2_S) with %v: %v", bad, err)
		}
	}
}

func TestQuantizeI2SAllZeroTensorHasScaleZero(t *testing.T) {
	buf := quantizeBytes(t, I2_S, make([]float32, 128))
	if s, _ := I2SScale(buf, 128); s != 0 {
		t.Errorf("scale = %v, want 0", s)
	}
	for i, b := range buf[:32] {
		if b != 0x55 {
			t.Fatalf("byte %d = %#x, want 0x55 (all codes 0)", i, b)
		}
	}
}
