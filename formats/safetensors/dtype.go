package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// DType is an element type, named as in the header ("F32", "BF16", ...).
type DType string

// The element types of the format.
const (
	BOOL    DType = "BOOL"
	U8      DType = "U8"
	I8      DType = "I8"
	F8E5M2  DType = "F8_E5M2"
	F8E4M3  DType = "F8_E4M3"
	I16     DType = "I16"
	U16     DType = "U16"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I32     DType = "I32"
	U32     DType = "U32"
	F32     DType = "F32"
	F64     DType = "F64"
	I64     DType = "I64"
	U64     DType = "U64"
	unknown DType = ""
)

var dtypeSizes = map[DType]uint64{
	BOOL: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	F64: 8, I64: 8, U64: 8,
}

// Size is the number of bytes of one element (0 for an unknown dtype).
func (d DType) Size() uint64 { return dtypeSizes[d] }

// Known reports whether d is a dtype of the format.
func (d DType) Known() bool { return dtypeSizes[d] != 0 }

// IsFloat reports whether Float32s can decode d.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// elements is the product of shape, false on overflow.
func elements(shape []uint64) (uint64, bool) {
	n := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// byteSize is elements(shape) * d.Size(), false on overflow.
func byteSize(d DType, shape []uint64) (uint64, bool) {
	n, ok := elements(shape)
	if !ok {
		return 0, false
	}
	hi, lo := bits.Mul64(n, d.Size())
	return lo, hi == 0
}

// Float32s decodes a float tensor (F32, F16, BF16 or F64) of f.
func (f *File) Float32s(t *Tensor) ([]float32, error) {
	return DecodeFloat32(t.DType, f.Data(t), t.Name)
}

// DecodeFloat32 decodes little-endian elements of a float dtype; name is
// used in errors.
func DecodeFloat32(d DType, b []byte, name string) ([]float32, error) {
	sz := d.Size()
	if !d.IsFloat() {
		return nil, fmt.Errorf("safetensors: tensor %q: dtype %s is not a float type: %w", name, d, errs.ErrUnsupported)
	}
	if uint64(len(b))%sz != 0 {
		return nil, fmt.Errorf("safetensors: tensor %q: %d bytes is not a whole number of %s elements: %w", name, len(b), d, errs.ErrFormat)
	}
	out := make([]float32, uint64(len(b))/sz)
	switch d {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		tab := quant.F16ToF32Table()
		for i := range out {
			out[i] = tab[binary.LittleEndian.Uint16(b[2*i:])]
		}
	case BF16:
		for i := range out {
			out[i] = quant.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	}
	return out, nil
}

// EncodeFloat32 encodes values as little-endian elements of a float dtype
// (F32, F16 or BF16 with round-to-nearest-even, F64).
func EncodeFloat32(d DType, vals []float32) ([]byte, error) {
	if !d.IsFloat() {
		return nil, fmt.Errorf("safetensors: cannot encode floats as %s: %w", d, errs.ErrInvalidArgument)
	}
	out := make([]byte, uint64(len(vals))*d.Size())
	for i, v := range vals {
		switch d {
		case F32:
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		case F16:
			binary.LittleEndian.PutUint16(out[2*i:], quant.F32ToF16(v))
		case BF16:
			binary.LittleEndian.PutUint16(out[2*i:], bf16RNE(v))
		case F64:
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(float64(v)))
		}
	}
	return out, nil
}

// bf16RNE rounds f to bfloat16 to nearest even, as PyTorch does (NaNs stay
// quiet NaNs).
func bf16RNE(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}
