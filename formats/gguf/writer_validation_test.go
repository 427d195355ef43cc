package gguf

import (
	"bytes"
	"math"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

func TestWriterRejectsBadTensors(t *testing.T) {
	w := NewWriter()
	must(t, w.AddTensor("ok", quant.F32, []uint64{2}, make([]byte, 8)))
	for _, tc := range []struct {
		name   string
		add    func() error
		kind   error
		substr string
	}{
		{"empty name", func() error { return w.AddTensor("", quant.F32, []uint64{2}, make([]byte, 8)) }, errs.ErrInvalidArgument, "empty"},
		{"duplicate name", func() error { return w.AddTensor("ok", quant.F32, []uint64{2}, make([]byte, 8)) }, errs.ErrInvalidArgument, "already used"},
		{"name not UTF-8", func() error { return w.AddTensor("\xff", quant.F32, []uint64{2}, make([]byte, 8)) }, errs.ErrInvalidArgument, "UTF-8"},
		{"no dims", func() error { return w.AddTensor("a", quant.F32, nil, nil) }, errs.ErrInvalidArgument, "0 dimensions"},
		{"five dims", func() error { return w.AddTensor("a", quant.F32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4)) }, errs.ErrInvalidArgument, "5 dimensions"},
		{"dim too large", func() error { return w.AddTensor("a", quant.F32, []uint64{1 << 63}, nil) }, errs.ErrInvalidArgument, "out of range"},
		{"dims overflow", func() error { return w.AddTensor("a", quant.F32, []uint64{1 << 40, 1 << 40}, nil) }, errs.ErrInvalidArgument, "overflows"},
		{"row not a block multiple", func() error { return w.AddTensor("a", quant.Q8_0, []uint64{33}, make([]byte, 34)) }, errs.ErrInvalidArgument, "block size"},
		{"I2_S not a multiple of 128", func() error { return w.AddTensor("a", quant.I2_S, []uint64{64}, make([]byte, 48)) }, errs.ErrInvalidArgument, "128"},
		{"wrong byte count", func() error { return w.AddTensor("a", quant.F32, []uint64{2}, make([]byte, 7)) }, errs.ErrInvalidArgument, "7 bytes given"},
		{"TL2", func() error { return w.AddTensor("a", quant.TL2, []uint64{256}, nil) }, errs.ErrUnsupported, "TL2"},
		{"I8_S", func() error { return w.AddTensor("a", quant.I8_S, []uint64{256}, nil) }, errs.ErrUnsupported, "I8_S"},
		{"unknown type", func() error { return w.AddTensor("a", quant.Type(99), []uint64{256}, nil) }, errs.ErrUnsupported, "99"},
		{"nil fill", func() error { return w.AddTensorFunc("a", quant.F32, []uint64{1}, nil) }, errs.ErrInvalidArgument, "nil fill"},
	} {
		testutil.WantErr(t, tc.name, tc.add(), tc.kind, tc.substr)
	}
	// Failed additions leave no trace: "a" is still free and the file holds
	// only "ok".
	must(t, w.AddTensor("a", quant.F32, []uint64{1}, make([]byte, 4)))
	f, err := Parse(writeBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 2 || f.Tensors[0].Name != "ok" || f.Tensors[1].Name != "a" {
		t.Fatalf("tensors after failed additions: %+v", f.Tensors)
	}
}

func TestWriterRejectsBadMetadata(t *testing.T) {
	w := NewWriter()
	for _, tc := range []struct {
		name   string
		err    error
		substr string
	}{
		{"alignment 0", w.SetAlignment(0), "power of two"},
		{"alignment 3", w.SetAlignment(3), "power of two"},
		{"alignment 2^32", w.SetAlignment(1 << 32), "power of two"},
		{"alignment as string", w.Set(KeyAlignment, "64"), KeyAlignment},
		{"alignment negative", w.Set(KeyAlignment, -64), KeyAlignment},
		{"empty key", w.Set("", 1), "empty"},
		{"unsupported Go type", w.Set("k", []int{1}), "[]int"},
		{"array of non-arrays", w.Set("k", []Value{MustValue(1)}), "nested"},
		{"mixed nested arrays", w.Set("k", []Value{MustValue([]int32{1}), MustValue([]string{"a"})}), "nested"},
	} {
		testutil.WantErr(t, tc.name, tc.err, errs.ErrInvalidArgument, tc.substr)
	}
	if w.Metadata.Len() != 0 {
		t.Fatalf("rejected entries were stored: %d entries", w.Metadata.Len())
	}
}

// Entries placed directly in Writer.Metadata are checked when writing, and a
// bad one means nothing is written at all.
func TestWriteToRefusesInvalidEntriesBeforeWriting(t *testing.T) {
	deep := MustValue([]int32{1})
	for range maxNesting {
		deep = MustValue([]Value{deep})
	}
	for _, tc := range []struct {
		name   string
		key    string
		v      Value
		substr string
	}{
		{"alignment u64", KeyAlignment, MustValue(uint64(64)), "u32 power of two"},
		{"alignment 48", KeyAlignment, MustValue(uint32(48)), "u32 power of two"},
		{"empty key", "", MustValue(1), "empty metadata key"},
		{"type tag mismatch", "k", Value{Type: TypeUint8, data: int32(1)}, "holds a Go int32"},
		{"array tag mismatch", "k", Value{Type: TypeArray, Elem: TypeFloat32, data: []int32{1}}, "holds a Go []int32"},
		{"unknown element type", "k", Value{Type: TypeArray, Elem: ValueType(13)}, "unknown element type"},
		{"scalar without data", "k", Value{Type: TypeString}, "holds a Go <nil>"},
		{"nested too deep", "k", deep, "nested more than"},
	} {
		w, _ := sampleWriter(t, 32)
		w.Metadata.Set(tc.key, tc.v)
		var buf bytes.Buffer
		n, err := w.WriteTo(&buf)
		testutil.WantErr(t, tc.name, err, errs.ErrInvalidArgument, tc.substr)
		if n != 0 || buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", tc.name, buf.Len())
		}
	}
}

// Type id 39 means TL2 in bitnet.cpp files: an MXFP4 tensor written into a
// file of a bitnet architecture would be misread, so the writer refuses it.
func TestWriterRefusesTypeIDsAmbiguousInBitNetFiles(t *testing.T) {
	for _, arch := range []string{"bitnet", "bitnet-b1.58", "bitnet-25"} {
		w := NewWriter()
		must(t, w.Set("general.architecture", arch))
		must(t, w.AddTensor("x", quant.MXFP4, []uint64{32}, make([]byte, 17)))
		_, err := w.WriteTo(&bytes.Buffer{})
		testutil.WantErr(t, arch, err, errs.ErrInvalidArgument, "MXFP4", arch)
	}
}

func TestNewValueMapsGoTypes(t *testing.T) {
	for _, tc := range []struct {
		x    any
		typ  ValueType
		elem ValueType
	}{
		{uint8(1), TypeUint8, 0}, {int8(1), TypeInt8, 0}, {uint16(1), TypeUint16, 0}, {int16(1), TypeInt16, 0},
		{uint32(1), TypeUint32, 0}, {int32(1), TypeInt32, 0}, {float32(1), TypeFloat32, 0}, {true, TypeBool, 0},
		{"s", TypeString, 0}, {uint64(1), TypeUint64, 0}, {int64(1), TypeInt64, 0}, {1.0, TypeFloat64, 0},
		{7, TypeInt32, 0}, {math.MaxInt32 + 1, TypeInt64, 0},
		{[]uint8{}, TypeArray, TypeUint8}, {[]string{}, TypeArray, TypeString}, {[]Value{}, TypeArray, TypeArray},
		{[]float64{}, TypeArray, TypeFloat64}, {[]bool{}, TypeArray, TypeBool},
	} {
		v, err := NewValue(tc.x)
		if err != nil || v.Type != tc.typ || v.Elem != tc.elem {
			t.Errorf("NewValue(%T) = %v/%v, %v; want %v/%v", tc.x, v.Type, v.Elem, err, tc.typ, tc.elem)
		}
		if err := checkValue(v, 0); err != nil {
			t.Errorf("NewValue(%T) gives a value the writer refuses: %v", tc.x, err)
		}
	}
}
