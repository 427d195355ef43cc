package gguf

import (
	"fmt"
	"math"

	"github.com/bitnet-dev/bitnet/errs"
)

// ValueType is the type tag of a metadata value.
type ValueType uint32

// Metadata value types of GGUF v3.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

// String names the type as GGUF tools do.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// size is the encoded size of a scalar of type t (0 for string and array).
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. Scalars hold the Go type matching Type
// (uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64). Arrays have Type TypeArray, Elem set to the element type,
// and hold a slice of the element's Go type ([]string, []float32, []int32,
// ...), or []Value for arrays of arrays.
type Value struct {
	Type ValueType
	Elem ValueType // element type of an array
	data any
}

// Data returns the Go value held.
func (v Value) Data() any { return v.data }

// Len is the number of elements of an array value (0 for scalars).
func (v Value) Len() int {
	if v.Type != TypeArray {
		return 0
	}
	switch a := v.data.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// Uint returns an integer value as uint64; false for other types and for
// negative values.
func (v Value) Uint() (uint64, bool) {
	switch x := v.data.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Int returns an integer value as int64; false for other types and for
// uint64 values above math.MaxInt64.
func (v Value) Int() (int64, bool) {
	switch x := v.data.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}

// Float returns a numeric value as float64 (integers convert).
func (v Value) Float() (float64, bool) {
	switch x := v.data.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := v.Int(); ok {
		return float64(i), true
	}
	if u, ok := v.Uint(); ok {
		return float64(u), true
	}
	return 0, false
}

// Str returns a string value.
func (v Value) Str() (string, bool) {
	s, ok := v.data.(string)
	return s, ok
}

// Bool returns a bool value.
func (v Value) Bool() (bool, bool) {
	b, ok := v.data.(bool)
	return b, ok
}

// Strings returns an array of strings.
func (v Value) Strings() ([]string, bool) {
	s, ok := v.data.([]string)
	return s, ok
}

// Float32s returns an array of float32 values (arrays of other numeric types
// are converted into a new slice).
func (v Value) Float32s() ([]float32, bool) {
	if f, ok := v.data.([]float32); ok {
		return f, true
	}
	n := v.Len()
	if v.Type != TypeArray || v.Elem == TypeString || v.Elem == TypeArray || v.Elem == TypeBool {
		return nil, false
	}
	out := make([]float32, n)
	for i := range out {
		f, _ := v.index(i).Float()
		out[i] = float32(f)
	}
	return out, true
}

// Int32s returns an array of integers as int32 (arrays of other integer
// types are converted; values out of int32 range make it fail).
func (v Value) Int32s() ([]int32, bool) {
	if a, ok := v.data.([]int32); ok {
		return a, true
	}
	if v.Type != TypeArray || v.Elem == TypeString || v.Elem == TypeArray || v.Elem == TypeBool ||
		v.Elem == TypeFloat32 || v.Elem == TypeFloat64 {
		return nil, false
	}
	out := make([]int32, v.Len())
	for i := range out {
		x, ok := v.index(i).Int()
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// index returns element i of an array as a scalar Value.
func (v Value) index(i int) Value {
	e := Value{Type: v.Elem}
	switch a := v.data.(type) {
	case []uint8:
		e.data = a[i]
	case []int8:
		e.data = a[i]
	case []uint16:
		e.data = a[i]
	case []int16:
		e.data = a[i]
	case []uint32:
		e.data = a[i]
	case []int32:
		e.data = a[i]
	case []float32:
		e.data = a[i]
	case []bool:
		e.data = a[i]
	case []string:
		e.data = a[i]
	case []uint64:
		e.data = a[i]
	case []int64:
		e.data = a[i]
	case []float64:
		e.data = a[i]
	case []Value:
		return a[i]
	}
	return e
}

// String formats the value for display; long arrays are summarized.
func (v Value) String() string {
	if v.Type == TypeArray {
		n := v.Len()
		const show = 8
		s := fmt.Sprintf("[%s x %d]", v.Elem, n)
		if n > 0 {
			s += " ["
			for i := 0; i < n && i < show; i++ {
				if i > 0 {
					s += ", "
				}
				s += v.index(i).String()
			}
			if n > show {
				s += ", ..."
			}
			s += "]"
		}
		return s
	}
	if str, ok := v.data.(string); ok {
		return fmt.Sprintf("%q", str)
	}
	return fmt.Sprint(v.data)
}

// NewValue wraps a Go value as a metadata value. Accepted: the scalar types
// listed on Value, int (stored as int32 when it fits, else int64), slices of
// those scalar types, and []Value (arrays of arrays, all of one element
// type).
func NewValue(x any) (Value, error) {
	switch a := x.(type) {
	case uint8:
		return Value{Type: TypeUint8, data: a}, nil
	case int8:
		return Value{Type: TypeInt8, data: a}, nil
	case uint16:
		return Value{Type: TypeUint16, data: a}, nil
	case int16:
		return Value{Type: TypeInt16, data: a}, nil
	case uint32:
		return Value{Type: TypeUint32, data: a}, nil
	case int32:
		return Value{Type: TypeInt32, data: a}, nil
	case float32:
		return Value{Type: TypeFloat32, data: a}, nil
	case bool:
		return Value{Type: TypeBool, data: a}, nil
	case string:
		return Value{Type: TypeString, data: a}, nil
	case uint64:
		return Value{Type: TypeUint64, data: a}, nil
	case int64:
		return Value{Type: TypeInt64, data: a}, nil
	case float64:
		return Value{Type: TypeFloat64, data: a}, nil
	case int:
		if a >= math.MinInt32 && a <= math.MaxInt32 {
			return Value{Type: TypeInt32, data: int32(a)}, nil
		}
		return Value{Type: TypeInt64, data: int64(a)}, nil
	case []uint8:
		return Value{Type: TypeArray, Elem: TypeUint8, data: a}, nil
	case []int8:
		return Value{Type: TypeArray, Elem: TypeInt8, data: a}, nil
	case []uint16:
		return Value{Type: TypeArray, Elem: TypeUint16, data: a}, nil
	case []int16:
		return Value{Type: TypeArray, Elem: TypeInt16, data: a}, nil
	case []uint32:
		return Value{Type: TypeArray, Elem: TypeUint32, data: a}, nil
	case []int32:
		return Value{Type: TypeArray, Elem: TypeInt32, data: a}, nil
	case []float32:
		return Value{Type: TypeArray, Elem: TypeFloat32, data: a}, nil
	case []bool:
		return Value{Type: TypeArray, Elem: TypeBool, data: a}, nil
	case []string:
		return Value{Type: TypeArray, Elem: TypeString, data: a}, nil
	case []uint64:
		return Value{Type: TypeArray, Elem: TypeUint64, data: a}, nil
	case []int64:
		return Value{Type: TypeArray, Elem: TypeInt64, data: a}, nil
	case []float64:
		return Value{Type: TypeArray, Elem: TypeFloat64, data: a}, nil
	case []Value:
		for _, e := range a {
			if e.Type != TypeArray || (len(a) > 0 && e.Elem != a[0].Elem) {
				return Value{}, fmt.Errorf("gguf: nested array elements must be arrays of one element type: %w", errs.ErrInvalidArgument)
			}
		}
		return Value{Type: TypeArray, Elem: TypeArray, data: a}, nil
	case Value:
		return a, nil
	}
	return Value{}, fmt.Errorf("gguf: no metadata type for Go type %T: %w", x, errs.ErrInvalidArgument)
}

// MustValue is NewValue for values known to be valid (literals in code); it
// panics on a type NewValue refuses.
func MustValue(x any) Value {
	v, err := NewValue(x)
	if err != nil {
		panic(err)
	}
	return v
}

// JSON returns the value in a form encoding/json writes faithfully: numbers
// as numbers (byte arrays too, which json would write as base64), strings
// as strings, non-finite floats as the strings "NaN", "+Inf" and "-Inf"
// (JSON has no such numbers), nested arrays as lists. Unless full is set,
// arrays of more than 16 elements become their summary string.
func (v Value) JSON(full bool) any {
	if v.Type == TypeArray && !full && v.Len() > 16 {
		return v.String()
	}
	switch x := v.data.(type) {
	case []uint8:
		out := make([]int, len(x))
		for i, b := range x {
			out[i] = int(b)
		}
		return out
	case float32:
		return jsonFloat(float64(x))
	case float64:
		return jsonFloat(x)
	case []float32:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = jsonFloat(float64(f))
		}
		return out
	case []float64:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = jsonFloat(f)
		}
		return out
	case []Value:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e.JSON(full)
		}
		return out
	}
	return v.data
}

func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}
