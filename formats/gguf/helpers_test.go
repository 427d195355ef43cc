package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/quant"
)

// This file holds the tests' own GGUF encoder, written independently of
// writer.go so that the two check each other, and the sample files the
// tests start from.

// enc appends little-endian values.
type enc []byte

func (e *enc) u8(x uint8)   { *e = append(*e, x) }
func (e *enc) u32(x uint32) { *e = binary.LittleEndian.AppendUint32(*e, x) }
func (e *enc) u64(x uint64) { *e = binary.LittleEndian.AppendUint64(*e, x) }
func (e *enc) raw(b []byte) { *e = append(*e, b...) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); *e = append(*e, s...) }
func (e *enc) pad(a int) {
	for len(*e)%a != 0 {
		*e = append(*e, 0)
	}
}

// Encoded values (the bytes after a value's type tag).
func vU8(x uint8) []byte   { return []byte{x} }
func vU32(x uint32) []byte { var e enc; e.u32(x); return e }
func vU64(x uint64) []byte { var e enc; e.u64(x); return e }
func vStr(s string) []byte { var e enc; e.str(s); return e }

// vArr encodes an array header (element type, count) followed by items.
func vArr(elem uint32, n uint64, items ...[]byte) []byte {
	var e enc
	e.u32(elem)
	e.u64(n)
	for _, it := range items {
		e.raw(it)
	}
	return e
}

// rawKV is one metadata entry: key, type tag and encoded value.
type rawKV struct {
	key string
	typ uint32
	val []byte
}

func kvU32(key string, x uint32) rawKV { return rawKV{key, uint32(TypeUint32), vU32(x)} }
func kvStr(key, s string) rawKV        { return rawKV{key, uint32(TypeString), vStr(s)} }

// rawTensor is one tensor info; len(dims) is written as n_dims.
type rawTensor struct {
	name string
	dims []uint64
	typ  uint32
	off  uint64
}

// rawFile describes a GGUF file to encode byte by byte. Zero fields take
// the usual values (version 3, alignment 32, counts from the slices).
type rawFile struct {
	version  uint32
	nTensors *uint64
	nKV      *uint64
	kvs      []rawKV
	tensors  []rawTensor
	align    int
	data     []byte // the data section
	noPad    bool   // end the file right after the tensor infos
}

// layout records where the sections of an encoded rawFile end.
type layout struct {
	header    int   // end of the fixed header (magic, version, counts)
	kvEnds    []int // end of each metadata entry
	infoEnds  []int // end of each tensor info
	dataStart int   // start of the data section
}

func u64p(x uint64) *uint64 { return &x }

func (f rawFile) encode() ([]byte, layout) {
	var e enc
	var l layout
	e.raw([]byte("GGUF"))
	v := f.version
	if v == 0 {
		v = 3
	}
	e.u32(v)
	nt, nkv := uint64(len(f.tensors)), uint64(len(f.kvs))
	if f.nTensors != nil {
		nt = *f.nTensors
	}
	if f.nKV != nil {
		nkv = *f.nKV
	}
	e.u64(nt)
	e.u64(nkv)
	l.header = len(e)
	for _, kv := range f.kvs {
		e.str(kv.key)
		e.u32(kv.typ)
		e.raw(kv.val)
		l.kvEnds = append(l.kvEnds, len(e))
	}
	for _, t := range f.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			e.u64(d)
		}
		e.u32(t.typ)
		e.u64(t.off)
		l.infoEnds = append(l.infoEnds, len(e))
	}
	if f.noPad {
		l.dataStart = len(e)
		return e, l
	}
	a := f.align
	if a == 0 {
		a = DefaultAlignment
	}
	e.pad(a)
	l.dataStart = len(e)
	e.raw(f.data)
	return e, l
}

func (f rawFile) bytes() []byte { b, _ := f.encode(); return b }

// baseRaw is a small valid file: a few entries and three tensors laid out
// back to back at alignment 32 (an F32 vector, a Q8_0 matrix, a TQ2_0 row).
func baseRaw() rawFile {
	data := make([]byte, 32+96+66+30) // 8 f32 (+pad), 2x34 (+pad), 66, tail pad
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	return rawFile{
		kvs: []rawKV{
			kvStr("general.architecture", "llama"),
			kvU32("llama.block_count", 1),
			{"tokenizer.ggml.tokens", uint32(TypeArray), vArr(uint32(TypeString), 2, vStr("a"), vStr("bc"))},
		},
		tensors: []rawTensor{
			{"v", []uint64{8}, uint32(quant.F32), 0},
			{"m", []uint64{32, 2}, uint32(quant.Q8_0), 32},
			{"t", []uint64{256}, uint32(quant.TQ2_0), 128},
		},
		data: data[:128+66],
	}
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sampleValues returns one entry of every metadata value type, arrays of
// each (empty ones too), arrays of strings and arrays of arrays, with edge
// values (extremes, NaN payloads, negative zero, empty and non-ASCII strings).
func sampleValues() []KV {
	nan32 := math.Float32frombits(0x7fc0_1234)
	nan64 := math.Float64frombits(0x7ff8_0000_0000_beef)
	negZero := math.Copysign(0, -1)
	kvs := []KV{
		{"general.architecture", MustValue("llama")},
		{"t.u8", MustValue(uint8(255))},
		{"t.i8", MustValue(int8(-128))},
		{"t.u16", MustValue(uint16(65535))},
		{"t.i16", MustValue(int16(-32768))},
		{"t.u32", MustValue(uint32(math.MaxUint32))},
		{"t.i32", MustValue(int32(math.MinInt32))},
		{"t.f32", MustValue(float32(-1.5))},
		{"t.f32.nan", MustValue(nan32)},
		{"t.bool.true", MustValue(true)},
		{"t.bool.false", MustValue(false)},
		{"t.string", MustValue("héllo\x00wörld ✓")},
		{"t.string.empty", MustValue("")},
		{"t.u64", MustValue(uint64(math.MaxUint64))},
		{"t.i64", MustValue(int64(math.MinInt64))},
		{"t.f64", MustValue(math.Inf(-1))},
		{"t.f64.nan", MustValue(nan64)},
		{"t.f64.negzero", MustValue(negZero)},
		{"a.u8", MustValue([]uint8{0, 1, 255})},
		{"a.i8", MustValue([]int8{-128, 0, 127})},
		{"a.u16", MustValue([]uint16{0, 65535})},
		{"a.i16", MustValue([]int16{-32768, 32767})},
		{"a.u32", MustValue([]uint32{1, math.MaxUint32})},
		{"a.i32", MustValue([]int32{-1, 0, 1, math.MaxInt32})},
		{"a.f32", MustValue([]float32{1, float32(negZero), nan32, float32(math.Inf(1))})},
		{"a.bool", MustValue([]bool{true, false, true})},
		{"a.string", MustValue([]string{"a", "", "ü\x00", strings.Repeat("x", 300)})},
		{"a.u64", MustValue([]uint64{0, math.MaxUint64})},
		{"a.i64", MustValue([]int64{math.MinInt64, math.MaxInt64})},
		{"a.f64", MustValue([]float64{math.Pi, nan64})},
		{"a.empty.i32", MustValue([]int32{})},
		{"a.empty.string", MustValue([]string{})},
		{"a.nested.i32", MustValue([]Value{MustValue([]int32{1, 2}), MustValue([]int32{}), MustValue([]int32{3})})},
		{"a.nested.string", MustValue([]Value{MustValue([]string{"x", "yz"}), MustValue([]string{""})})},
		{"a.nested.empty", MustValue([]Value{})},
		{"a.nested.deep", MustValue([]Value{MustValue([]Value{MustValue([]Value{MustValue([]float32{0.25})})})})},
	}
	return kvs
}

// sampleTensor is a tensor of the sample file with the bytes written for it.
type sampleTensor struct {
	name string
	typ  quant.Type
	dims []uint64
	data []byte
}

// sampleTensors are tensors of several types and ranks, sized by
// quant.TensorBytes (I2_S: n/4 + 32).
func sampleTensors(t testing.TB) []sampleTensor {
	t.Helper()
	ts := []sampleTensor{
		{name: "a.f32", typ: quant.F32, dims: []uint64{7, 3}},
		{name: "b.f16", typ: quant.F16, dims: []uint64{5}},
		{name: "c.q8_0", typ: quant.Q8_0, dims: []uint64{64, 2}},
		{name: "d.tq2_0", typ: quant.TQ2_0, dims: []uint64{256, 2}},
		{name: "e.i2_s", typ: quant.I2_S, dims: []uint64{128, 3}},
		{name: "f.4d", typ: quant.F32, dims: []uint64{2, 1, 3, 1}},
	}
	wantSize := []uint64{84, 10, 136, 132, 128, 24}
	for i := range ts {
		n, err := quant.TensorBytes(ts[i].typ, ts[i].dims)
		if err != nil || n != wantSize[i] {
			t.Fatalf("TensorBytes(%v, %v) = %d, %v; want %d", ts[i].typ, ts[i].dims, n, err, wantSize[i])
		}
		ts[i].data = randBytes(uint64(i+1), n)
	}
	return ts
}

// sampleWriter returns a writer holding sampleValues and sampleTensors at
// the given alignment.
func sampleWriter(t testing.TB, align uint64) (*Writer, []sampleTensor) {
	t.Helper()
	w := NewWriter()
	for _, kv := range sampleValues() {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatalf("Set(%q): %v", kv.Key, err)
		}
	}
	if err := w.SetAlignment(align); err != nil {
		t.Fatal(err)
	}
	ts := sampleTensors(t)
	for _, st := range ts {
		if err := w.AddTensor(st.name, st.typ, st.dims, st.data); err != nil {
			t.Fatalf("AddTensor(%q): %v", st.name, err)
		}
	}
	return w, ts
}

// writeBytes writes w to memory.
func writeBytes(t testing.TB, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

// sameValue compares values exactly: floats by their bits (NaN payloads and
// the sign of zero count), nil and empty slices alike.
func sameValue(a, b Value) bool {
	if a.Type != b.Type || a.Elem != b.Elem {
		return false
	}
	return sameData(reflect.ValueOf(a.data), reflect.ValueOf(b.data))
}

func sameData(x, y reflect.Value) bool {
	if !x.IsValid() || !y.IsValid() {
		return x.IsValid() == y.IsValid()
	}
	if x.Type() != y.Type() {
		return false
	}
	switch x.Kind() {
	case reflect.Slice:
		if x.Len() != y.Len() {
			return false
		}
		for i := 0; i < x.Len(); i++ {
			if !sameData(x.Index(i), y.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Float32:
		return math.Float32bits(x.Interface().(float32)) == math.Float32bits(y.Interface().(float32))
	case reflect.Float64:
		return math.Float64bits(x.Interface().(float64)) == math.Float64bits(y.Interface().(float64))
	case reflect.Struct: // Value
		return sameValue(x.Interface().(Value), y.Interface().(Value))
	}
	return x.Interface() == y.Interface()
}

// sameMetadata reports the first difference between two tables ("" if none).
func sameMetadata(a, b *Metadata) string {
	ea, eb := a.Entries(), b.Entries()
	if len(ea) != len(eb) {
		return "entry counts differ"
	}
	for i := range ea {
		if ea[i].Key != eb[i].Key {
			return "entry " + ea[i].Key + " vs " + eb[i].Key
		}
		if !sameValue(ea[i].Value, eb[i].Value) {
			return "value of " + ea[i].Key + ": " + ea[i].Value.String() + " vs " + eb[i].Value.String()
		}
	}
	return ""
}

// parseNoPanic parses b, turning a panic into a test failure.
func parseNoPanic(t testing.TB, what string, b []byte) (f *File, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: Parse panicked: %v", what, r)
			f, err = nil, errors.New("panic")
		}
	}()
	return Parse(b)
}
