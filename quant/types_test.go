package quant

import (
	"errors"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

func TestTensorBytesOfI2SIsQuarterOfWeightsPlusTail(t *testing.T) {
	for _, c := range []struct {
		dims []uint64
		want uint64
	}{
		{[]uint64{128}, 64},
		{[]uint64{128, 3}, 128},
		{[]uint64{2560, 2560}, 2560*2560/4 + 32},
		{[]uint64{2560, 6912}, 2560*6912/4 + 32},
		{[]uint64{0}, 32},
	} {
		got, err := TensorBytes(I2_S, c.dims)
		if err != nil || got != c.want {
			t.Errorf("TensorBytes(I2_S, %v) = %d, %v; want %d", c.dims, got, err, c.want)
		}
	}
	if _, err := TensorBytes(I2_S, []uint64{100}); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("I2_S of 100 weights: %v", err)
	}
	// Rows of I2_S count only their codes.
	if got, err := RowBytes(I2_S, 2560); err != nil || got != 640 {
		t.Errorf("RowBytes(I2_S, 2560) = %d, %v", got, err)
	}
}

func TestTensorBytesAndRowBytesOfBlockTypes(t *testing.T) {
	for _, c := range []struct {
		typ  Type
		dims []uint64
		want uint64
	}{
		{F32, []uint64{3, 5}, 60},
		{F16, []uint64{3, 5}, 30},
		{BF16, []uint64{7}, 14},
		{Q4_0, []uint64{64, 2}, 72},
		{Q4_1, []uint64{32}, 20},
		{Q8_0, []uint64{64, 3}, 204},
		{Q6_K, []uint64{512}, 420},
		{TQ1_0, []uint64{256, 2, 2}, 216},
		{TQ2_0, []uint64{2560, 2}, 1320},
		{Q8_0, []uint64{0, 5}, 0},
	} {
		got, err := TensorBytes(c.typ, c.dims)
		if err != nil || got != c.want {
			t.Errorf("TensorBytes(%v, %v) = %d, %v; want %d", c.typ, c.dims, got, err, c.want)
		}
	}
	if got, err := RowBytes(TQ1_0, 1536); err != nil || got != 324 {
		t.Errorf("RowBytes(TQ1_0, 1536) = %d, %v", got, err)
	}
	if _, err := TensorBytes(Q4_0, []uint64{33}); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("Q4_0 row of 33: %v", err)
	}
	if _, err := TensorBytes(TQ2_0, []uint64{3200, 2}); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("TQ2_0 row of 3200: %v", err)
	}
	if _, err := TensorBytes(F32, nil); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("no dims: %v", err)
	}
	if _, err := RowBytes(Type(99), 32); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("unknown type: %v", err)
	}
}

func TestTensorBytesOverflowIsAFormatError(t *testing.T) {
	for _, c := range []struct {
		typ  Type
		dims []uint64
	}{
		{F32, []uint64{1 << 40, 1 << 40}},  // element count
		{F32, []uint64{1 << 62}},           // row bytes
		{F32, []uint64{1 << 32, 1 << 31}},  // rows * row bytes
		{Q8_0, []uint64{1 << 63, 2}},       // element count
		{I2_S, []uint64{1 << 32, 1 << 32}}, // element count
	} {
		if _, err := TensorBytes(c.typ, c.dims); !errors.Is(err, errs.ErrFormat) {
			t.Errorf("TensorBytes(%v, %v): %v", c.typ, c.dims, err)
		}
	}
	if _, err := Elements([]uint64{1 << 33, 1 << 33}); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("Elements overflow: %v", err)
	}
}

func TestFromFileIDResolvesIDs36To39ByFork(t *testing.T) {
	for _, c := range []struct {
		id    uint32
		fork  bool
		want  Type
		unsup bool
	}{
		{36, true, I2_S, false},
		{36, false, I2_S, false}, // upstream never writes 36
		{37, true, I8_S, true},
		{38, true, TL1, true},
		{38, false, TL1, true},
		{39, true, TL2, true},
		{39, false, MXFP4, false},
		{34, false, TQ1_0, false},
		{35, true, TQ2_0, false},
		{4, false, Type(4), true}, // removed Q4_2
		{1000, false, Type(1000), true},
	} {
		got, err := FromFileID(c.id, c.fork)
		if got != c.want || errors.Is(err, errs.ErrUnsupported) != c.unsup || (err != nil) != c.unsup {
			t.Errorf("FromFileID(%d, %v) = %v, %v", c.id, c.fork, got, err)
		}
	}
	if TL2.FileID() != 39 || I2_S.FileID() != 36 {
		t.Errorf("FileID: TL2 %d, I2_S %d", TL2.FileID(), I2_S.FileID())
	}
}

func TestParseTypeAcceptsAnyCaseAndRejectsUnknownNames(t *testing.T) {
	for s, want := range map[string]Type{"q8_0": Q8_0, " I2_S ": I2_S, "tq2_0": TQ2_0, "Bf16": BF16, "F32": F32, "q6_k": Q6_K} {
		if got, err := ParseType(s); err != nil || got != want {
			t.Errorf("ParseType(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "q9_0", "TL2", "i8_s"} {
		if _, err := ParseType(s); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("ParseType(%q): %v", s, err)
		}
	}
}

func TestTypesAreSortedAndNamesRoundTrip(t *testing.T) {
	ts := Types()
	for i, typ := range ts {
		if i > 0 && ts[i-1] >= typ {
			t.Errorf("Types not sorted at %d", i)
		}
		if got, err := ParseType(typ.String()); err != nil || got != typ {
			t.Errorf("ParseType(%v.String()) = %v, %v", typ, got, err)
		}
	}
	if TL2.String() != "TL2" || Type(99).String() != "type(99)" {
		t.Errorf("String: %q %q", TL2.String(), Type(99).String())
	}
	info, _ := Lookup(TQ2_0)
	if info.BitsPerWeight() != 2.0625 || !info.Ternary {
		t.Errorf("TQ2_0 info: %+v", info)
	}
}
