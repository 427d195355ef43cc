package quant

import (
	"errors"
	"math"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// codecTypes are the types with both a decoder and an encoder (I2_S through
// Quantize).
var codecTypes = []Type{F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q6_K, TQ1_0, TQ2_0, I2_S}

func TestCodecAvailabilityMatchesTheDocumentedList(t *testing.T) {
	want := map[Type]bool{}
	for _, typ := range codecTypes {
		want[typ] = true
	}
	for _, typ := range Types() {
		info, _ := Lookup(typ)
		if info.CanDequantize() != want[typ] {
			t.Errorf("%v: CanDequantize = %v", typ, info.CanDequantize())
		}
		if info.CanQuantize() != (want[typ] && typ != I2_S) {
			t.Errorf("%v: CanQuantize = %v", typ, info.CanQuantize())
		}
	}
}

func TestEveryCodecMapsZerosToZeros(t *testing.T) {
	for _, typ := range codecTypes {
		y := dequantizeBytes(t, typ, quantizeBytes(t, typ, make([]float32, 512)), 512)
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%v: element %d = %v", typ, i, v)
			}
		}
	}
}

func TestEveryCodecStoresARepresentableConstantExactly(t *testing.T) {
	// -127/128: 7 significant bits, and 127 * 2^-7 makes Q8_0's d a
	// power of two. Q6_K's search does not promise exact constants.
	const c = -127.0 / 128
	x := make([]float32, 512)
	for i := range x {
		x[i] = c
	}
	for _, typ := range codecTypes {
		if typ == Q6_K {
			continue
		}
		y := dequantizeBytes(t, typ, quantizeBytes(t, typ, x), 512)
		if i := sameFloats(y, x); i >= 0 {
			t.Errorf("%v: element %d = %v, want %v", typ, i, y[i], c)
		}
	}
}

func TestEveryCodecSurvivesNaNAndInfWithoutPanicking(t *testing.T) {
	x := referenceInput()
	x[3] = float32(math.NaN())
	x[300] = float32(math.Inf(1))
	x[301] = float32(math.Inf(-1))
	x[700] = math.MaxFloat32
	x[701] = -math.MaxFloat32
	for _, typ := range codecTypes {
		size, _ := TensorBytes(typ, []uint64{uint64(len(x))})
		dst := make([]byte, size)
		err := Quantize(typ, x, dst)
		if typ == I2_S {
			if !errors.Is(err, errs.ErrQuantization) {
				t.Errorf("I2_S with NaN: %v", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", typ, err)
		}
		if err := Dequantize(typ, dst, make([]float32, len(x))); err != nil {
			t.Errorf("%v: %v", typ, err)
		}
	}
}

func TestEveryDecoderAcceptsArbitraryBytes(t *testing.T) {
	for _, typ := range codecTypes {
		size, _ := TensorBytes(typ, []uint64{1024})
		src := make([]byte, size)
		s := uint32(typ) + 1
		for i := range src {
			s = s*1664525 + 1013904223
			src[i] = byte(s >> 24)
		}
		if err := Dequantize(typ, src, make([]float32, 1024)); err != nil {
			t.Errorf("%v: %v", typ, err)
		}
	}
}

func TestDequantizeRejectsWrongSizes(t *testing.T) {
	cases := []struct {
		typ  Type
		src  int
		n    int
		want error
	}{
		{Q8_0, 33, 32, errs.ErrFormat},   // one byte short
		{Q8_0, 35, 32, errs.ErrFormat},   // one byte long
		{Q8_0, 34, 33, errs.ErrFormat},   // not whole blocks
		{F16, 3, 2, errs.ErrFormat},      // odd bytes
		{I2_S, 32, 128, errs.ErrFormat},  // missing tail
		{I2_S, 96, 128, errs.ErrFormat},  // tail too long
		{I2_S, 57, 100, errs.ErrFormat},  // not a multiple of 128
		{TQ2_0, 66, 128, errs.ErrFormat}, // half a block
	}
	for _, c := range cases {
		err := Dequantize(c.typ, make([]byte, c.src), make([]float32, c.n))
		if !errors.Is(err, c.want) {
			t.Errorf("Dequantize(%v, %d bytes, %d elements) = %v, want %v", c.typ, c.src, c.n, err, c.want)
		}
	}
}

func TestQuantizeRejectsPartialBlocksAndWrongDestinations(t *testing.T) {
	if err := Quantize(Q8_0, make([]float32, 33), make([]byte, 68)); !errors.Is(err, errs.ErrQuantization) {
		t.Errorf("33 elements as Q8_0: %v", err)
	}
	if err := Quantize(TQ2_0, make([]float32, 3200), make([]byte, 1000)); !errors.Is(err, errs.ErrQuantization) {
		t.Errorf("3200 elements as TQ2_0: %v", err)
	}
	if err := Quantize(I2_S, make([]float32, 100), make([]byte, 57)); !errors.Is(err, errs.ErrQuantization) {
		t.Errorf("100 elements as I2_S: %v", err)
	}
	if err := Quantize(Q8_0, make([]float32, 32), make([]byte, 35)); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Q8_0 into 35 bytes: %v", err)
	}
	if err := Quantize(I2_S, make([]float32, 128), make([]byte, 32)); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("I2_S without room for the tail: %v", err)
	}
}

func TestTypesWithoutCodecAreUnsupported(t *testing.T) {
	for _, typ := range []Type{Q5_0, Q4_K, IQ2_S, I8, MXFP4, TL2, I8_S, Type(99)} {
		if err := Dequantize(typ, make([]byte, 1024), make([]float32, 256)); !errors.Is(err, errs.ErrUnsupported) {
			t.Errorf("Dequantize(%v): %v", typ, err)
		}
		if err := DequantizeRow(typ, make([]byte, 1024), make([]float32, 256)); !errors.Is(err, errs.ErrUnsupported) {
			t.Errorf("DequantizeRow(%v): %v", typ, err)
		}
		if err := Quantize(typ, make([]float32, 256), make([]byte, 1024)); !errors.Is(err, errs.ErrUnsupported) {
			t.Errorf("Quantize(%v): %v", typ, err)
		}
	}
}

func TestDequantizeRowDecodesOneRowAndRefusesI2S(t *testing.T) {
	x := referenceInput()
	q := quantizeBytes(t, Q8_0, x)
	row := make([]float32, 256)
	if err := DequantizeRow(Q8_0, q[34*8:34*16], row); err != nil {
		t.Fatal(err)
	}
	whole := dequantizeBytes(t, Q8_0, q, len(x))
	if i := sameFloats(row, whole[256:512]); i >= 0 {
		t.Errorf("row element %d differs from the whole-tensor decode", i)
	}
	if err := DequantizeRow(Q8_0, q[:33], make([]float32, 32)); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("short row: %v", err)
	}
	if err := DequantizeRow(I2_S, make([]byte, 64), make([]float32, 128)); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("DequantizeRow(I2_S): %v", err)
	}
}
