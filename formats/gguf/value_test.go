package gguf

import (
	"math"
	"strings"
	"testing"
)

func TestValueIntegerAccessorsRefuseLossyConversions(t *testing.T) {
	for _, tc := range []struct {
		x          any
		u          uint64
		uok        bool
		i          int64
		iok        bool
		f          float64
		fok        bool
		isString   bool
		isBoolTrue bool
	}{
		{x: uint8(200), u: 200, uok: true, i: 200, iok: true, f: 200, fok: true},
		{x: int8(-3), uok: false, i: -3, iok: true, f: -3, fok: true},
		{x: int64(math.MinInt64), uok: false, i: math.MinInt64, iok: true, f: math.MinInt64, fok: true},
		{x: uint64(math.MaxUint64), u: math.MaxUint64, uok: true, iok: false, f: math.MaxUint64, fok: true},
		{x: uint32(7), u: 7, uok: true, i: 7, iok: true, f: 7, fok: true},
		{x: float32(0.5), f: 0.5, fok: true},
		{x: "s", isString: true},
		{x: true, isBoolTrue: true},
	} {
		v := MustValue(tc.x)
		u, uok := v.Uint()
		i, iok := v.Int()
		f, fok := v.Float()
		if uok != tc.uok || (uok && u != tc.u) || iok != tc.iok || (iok && i != tc.i) || fok != tc.fok || (fok && f != tc.f) {
			t.Errorf("%T(%v): Uint %d,%v Int %d,%v Float %v,%v", tc.x, tc.x, u, uok, i, iok, f, fok)
		}
		if _, ok := v.Str(); ok != tc.isString {
			t.Errorf("%T: Str ok = %v", tc.x, ok)
		}
		if b, ok := v.Bool(); ok != tc.isBoolTrue || b != tc.isBoolTrue {
			t.Errorf("%T: Bool = %v, %v", tc.x, b, ok)
		}
		if v.Len() != 0 {
			t.Errorf("%T: scalar Len = %d", tc.x, v.Len())
		}
	}
}

func TestValueArrayAccessorsConvertOnlyWhatFits(t *testing.T) {
	if f, ok := MustValue([]int16{-2, 3}).Float32s(); !ok || len(f) != 2 || f[0] != -2 || f[1] != 3 {
		t.Errorf("Float32s of []int16 = %v, %v", f, ok)
	}
	if f, ok := MustValue([]float64{0.25}).Float32s(); !ok || f[0] != 0.25 {
		t.Errorf("Float32s of []float64 = %v, %v", f, ok)
	}
	for _, x := range []any{[]string{"a"}, []bool{true}, []Value{}, "scalar", int32(1)} {
		if _, ok := MustValue(x).Float32s(); ok {
			t.Errorf("Float32s of %T succeeded", x)
		}
	}
	if a, ok := MustValue([]uint8{0, 255}).Int32s(); !ok || a[1] != 255 {
		t.Errorf("Int32s of []uint8 = %v, %v", a, ok)
	}
	for _, x := range []any{[]uint32{math.MaxUint32}, []int64{math.MinInt64}, []uint64{1 << 40}, []float32{1}, []string{"1"}} {
		if a, ok := MustValue(x).Int32s(); ok {
			t.Errorf("Int32s of %T %v = %v, want refusal", x, x, a)
		}
	}
	if s, ok := MustValue([]string{"a", "b"}).Strings(); !ok || len(s) != 2 {
		t.Errorf("Strings = %v, %v", s, ok)
	}
	if _, ok := MustValue([]int32{1}).Strings(); ok {
		t.Error("Strings of []int32 succeeded")
	}
	if n := MustValue([]Value{MustValue([]int8{1}), MustValue([]int8{})}).Len(); n != 2 {
		t.Errorf("Len of array of arrays = %d", n)
	}
}

func TestValueStringSummarizesLongArrays(t *testing.T) {
	long := make([]int32, 100)
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{MustValue("a\nb"), `"a\nb"`},
		{MustValue(uint16(9)), "9"},
		{MustValue([]string{"x", "y"}), `[string x 2] ["x", "y"]`},
		{MustValue([]int32{}), "[i32 x 0]"},
		{MustValue(long), "[i32 x 100] [0, 0, 0, 0, 0, 0, 0, 0, ...]"},
		{MustValue([]Value{MustValue([]bool{true})}), "[array x 1] [[bool x 1] [true]]"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	if s := ValueType(77).String(); s != "type(77)" {
		t.Errorf("ValueType(77) = %q", s)
	}
}

func TestMustValuePanicsOnUnsupportedType(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "struct") {
			t.Fatalf("recovered %v, want an error naming the type", r)
		}
	}()
	MustValue(struct{}{})
}

func TestMetadataKeepsOrderThroughSetAndDelete(t *testing.T) {
	m := NewMetadata()
	for i, k := range []string{"a", "b", "c", "d"} {
		m.Set(k, MustValue(uint32(i)))
	}
	m.Set("b", MustValue("replaced")) // keeps its place
	m.Delete("a")
	m.Delete("missing")
	var keys []string
	for _, kv := range m.Entries() {
		keys = append(keys, kv.Key)
	}
	if strings.Join(keys, ",") != "b,c,d" || m.Len() != 3 {
		t.Fatalf("keys %v", keys)
	}
	if s, ok := m.String("b"); !ok || s != "replaced" {
		t.Errorf("b = %q, %v", s, ok)
	}
	if u, ok := m.Uint("d"); !ok || u != 3 {
		t.Errorf("d = %d, %v (index not updated after Delete)", u, ok)
	}
	if m.Has("a") {
		t.Error("deleted key still present")
	}
	if _, ok := m.Float("b"); ok {
		t.Error("Float of a string succeeded")
	}
	if _, ok := m.Strings("nope"); ok {
		t.Error("Strings of a missing key succeeded")
	}
	var zero Metadata // usable without NewMetadata
	zero.Set("k", MustValue(true))
	if b, ok := zero.Bool("k"); !ok || !b {
		t.Error("zero Metadata lost its entry")
	}
}
