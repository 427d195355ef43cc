// Package quant is the registry of weight types: for each ggml type id its
// name, block geometry, and the functions that turn blocks into float32 and
// back. It also holds the BitNet b1.58 quantizers (absmean ternarization of
// weights, per-token int8 absmax quantization of activations).
//
// Type ids are ggml's. Ids 36..39 mean different things in upstream ggml and
// in Microsoft's bitnet.cpp fork; FromFileID resolves them.
package quant

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// Type identifies a tensor element type. Values below 1<<16 are ggml type ids
// as stored in GGUF files; TL2 has an id of its own because its file id (39)
// collides with upstream's MXFP4.
type Type uint32

// Weight types. Only the types listed in the package documentation have
// codecs; the others are known by size so that files holding them can be
// inspected, and refused with a clear error when used.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	// I2_S is Microsoft bitnet.cpp's 2-bit ternary type (file id 36 in its
	// fork; upstream never writes 36 to files).
	I2_S Type = 36
	// I8_S is bitnet.cpp's int8 activation type (file id 37); never a weight.
	I8_S Type = 37
	// TL1 is bitnet.cpp's lookup-table packing (file id 38); shape-specific.
	TL1   Type = 38
	MXFP4 Type = 39
	NVFP4 Type = 40
	Q1_0  Type = 41
	// TL2 is bitnet.cpp's file id 39 (upstream: MXFP4).
	TL2 Type = 1<<16 | 39
)

// I2SBlock is the number of weights in one I2_S block (32 bytes).
const I2SBlock = 128

// I2STail is the number of bytes after an I2_S tensor's packed codes; its
// first four bytes hold the tensor's float32 scale.
const I2STail = 32

// Info describes one type.
type Info struct {
	Type       Type
	Name       string
	BlockSize  int  // elements per block
	BlockBytes int  // bytes per block
	Ternary    bool // values are {-1, 0, +1} times a scale

	// dequant decodes whole blocks: len(dst) elements from src. For I2_S
	// it yields the unscaled codes -1, 0, +1; Dequantize applies the scale.
	dequant func(dst []float32, src []byte)
	// quant encodes len(src) elements (whole blocks) into dst.
	quant func(dst []byte, src []float32)
}

// CanDequantize reports whether the type has a decoder.
func (i *Info) CanDequantize() bool { return i.dequant != nil }

// CanQuantize reports whether the type has an encoder.
func (i *Info) CanQuantize() bool { return i.quant != nil }

// BitsPerWeight is the storage cost of one element.
func (i *Info) BitsPerWeight() float64 {
	return float64(i.BlockBytes*8) / float64(i.BlockSize)
}

var registry = map[Type]*Info{}

func register(i *Info) {
	if _, dup := registry[i.Type]; dup {
		panic("quant: type registered twice: " + i.Name)
	}
	registry[i.Type] = i
}

func init() {
	for _, i := range []*Info{
		{Type: F32, Name: "F32", BlockSize: 1, BlockBytes: 4, dequant: dequantF32, quant: quantF32},
		{Type: F16, Name: "F16", BlockSize: 1, BlockBytes: 2, dequant: dequantF16, quant: quantF16},
		{Type: BF16, Name: "BF16", BlockSize: 1, BlockBytes: 2, dequant: dequantBF16, quant: quantBF16},
		{Type: Q4_0, Name: "Q4_0", BlockSize: 32, BlockBytes: 18, dequant: dequantQ4_0, quant: quantQ4_0},
		{Type: Q4_1, Name: "Q4_1", BlockSize: 32, BlockBytes: 20, dequant: dequantQ4_1, quant: quantQ4_1},
		{Type: Q5_0, Name: "Q5_0", BlockSize: 32, BlockBytes: 22},
		{Type: Q5_1, Name: "Q5_1", BlockSize: 32, BlockBytes: 24},
		{Type: Q8_0, Name: "Q8_0", BlockSize: 32, BlockBytes: 34, dequant: dequantQ8_0, quant: quantQ8_0},
		{Type: Q8_1, Name: "Q8_1", BlockSize: 32, BlockBytes: 40},
		{Type: Q2_K, Name: "Q2_K", BlockSize: 256, BlockBytes: 84},
		{Type: Q3_K, Name: "Q3_K", BlockSize: 256, BlockBytes: 110},
		{Type: Q4_K, Name: "Q4_K", BlockSize: 256, BlockBytes: 144},
		{Type: Q5_K, Name: "Q5_K", BlockSize: 256, BlockBytes: 176},
		{Type: Q6_K, Name: "Q6_K", BlockSize: 256, BlockBytes: 210, dequant: dequantQ6_K, quant: quantQ6_K},
		{Type: Q8_K, Name: "Q8_K", BlockSize: 256, BlockBytes: 292},
		{Type: IQ2_XXS, Name: "IQ2_XXS", BlockSize: 256, BlockBytes: 66},
		{Type: IQ2_XS, Name: "IQ2_XS", BlockSize: 256, BlockBytes: 74},
		{Type: IQ3_XXS, Name: "IQ3_XXS", BlockSize: 256, BlockBytes: 98},
		{Type: IQ1_S, Name: "IQ1_S", BlockSize: 256, BlockBytes: 50},
		{Type: IQ4_NL, Name: "IQ4_NL", BlockSize: 32, BlockBytes: 18},
		{Type: IQ3_S, Name: "IQ3_S", BlockSize: 256, BlockBytes: 110},
		{Type: IQ2_S, Name: "IQ2_S", BlockSize: 256, BlockBytes: 82},
		{Type: IQ4_XS, Name: "IQ4_XS", BlockSize: 256, BlockBytes: 136},
		{Type: I8, Name: "I8", BlockSize: 1, BlockBytes: 1},
		{Type: I16, Name: "I16", BlockSize: 1, BlockBytes: 2},
		{Type: I32, Name: "I32", BlockSize: 1, BlockBytes: 4},
		{Type: I64, Name: "I64", BlockSize: 1, BlockBytes: 8},
		{Type: F64, Name: "F64", BlockSize: 1, BlockBytes: 8},
		{Type: IQ1_M, Name: "IQ1_M", BlockSize: 256, BlockBytes: 56},
		{Type: TQ1_0, Name: "TQ1_0", BlockSize: 256, BlockBytes: 54, Ternary: true, dequant: dequantTQ1_0, quant: quantTQ1_0},
		{Type: TQ2_0, Name: "TQ2_0", BlockSize: 256, BlockBytes: 66, Ternary: true, dequant: dequantTQ2_0, quant: quantTQ2_0},
		{Type: I2_S, Name: "I2_S", BlockSize: I2SBlock, BlockBytes: 32, Ternary: true, dequant: dequantI2SCodes},
		{Type: MXFP4, Name: "MXFP4", BlockSize: 32, BlockBytes: 17},
		{Type: NVFP4, Name: "NVFP4", BlockSize: 64, BlockBytes: 36},
		{Type: Q1_0, Name: "Q1_0", BlockSize: 128, BlockBytes: 18},
	} {
		register(i)
	}
}

// Lookup returns the description of t.
func Lookup(t Type) (*Info, bool) {
	i, ok := registry[t]
	return i, ok
}

// String returns the type's name, or a description of an unknown id.
func (t Type) String() string {
	if i, ok := registry[t]; ok {
		return i.Name
	}
	switch t {
	case I8_S:
		return "I8_S"
	case TL1:
		return "TL1"
	case TL2:
		return "TL2"
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// FileID is the id written to a GGUF file for t.
func (t Type) FileID() uint32 { return uint32(t) & 0xffff }

// FromFileID resolves a type id read from a GGUF file. microsoftFork says
// the file comes from bitnet.cpp's fork of llama.cpp (its architecture or
// file type says so), where ids 36..39 are I2_S, I8_S, TL1 and TL2; upstream,
// 36..38 are never written to files and 39 is MXFP4.
func FromFileID(id uint32, microsoftFork bool) (Type, error) {
	t := Type(id)
	switch {
	case id == 39 && microsoftFork:
		return TL2, fmt.Errorf("tensor type 39 (TL2, bitnet.cpp lookup-table packing) is not supported; convert the model to I2_S: %w", errs.ErrUnsupported)
	case id == 38:
		return TL1, fmt.Errorf("tensor type 38 (TL1, bitnet.cpp lookup-table packing) is not supported; convert the model to I2_S: %w", errs.ErrUnsupported)
	case id == 37:
		return I8_S, fmt.Errorf("tensor type 37 (I8_S, bitnet.cpp activation type) cannot hold weights: %w", errs.ErrUnsupported)
	}
	if _, ok := registry[t]; !ok {
		return t, fmt.Errorf("unknown tensor type id %d: %w", id, errs.ErrUnsupported)
	}
	return t, nil
}

// ParseType returns the type named s ("q8_0", "I2_S", "tq2_0", ...).
func ParseType(s string) (Type, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for t, i := range registry {
		if i.Name == u {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown weight type %q: %w", s, errs.ErrInvalidArgument)
}

// Types returns every registered type, ordered by id.
func Types() []Type {
	out := make([]Type, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// mulCheck multiplies with overflow detection.
func mulCheck(a, b uint64) (uint64, bool) {
	hi, lo := bits.Mul64(a, b)
	return lo, hi == 0
}

// Elements returns the product of dims, or an error when it overflows.
func Elements(dims []uint64) (uint64, error) {
	n := uint64(1)
	for _, d := range dims {
		var ok bool
		if n, ok = mulCheck(n, d); !ok {
			return 0, fmt.Errorf("tensor dims %v: element count overflows: %w", dims, errs.ErrFormat)
		}
	}
	return n, nil
}

// RowBytes is the byte size of one row of n elements of type t. For I2_S,
// whose packing runs over the whole tensor, it is the size of the row's
// codes (n/4) without the tensor's tail.
func RowBytes(t Type, n uint64) (uint64, error) {
	info, ok := registry[t]
	if !ok {
		return 0, fmt.Errorf("type %v: %w", t, errs.ErrUnsupported)
	}
	bs := uint64(info.BlockSize)
	if n%bs != 0 {
		return 0, fmt.Errorf("row of %d elements is not a multiple of the %s block size %d: %w", n, info.Name, bs, errs.ErrFormat)
	}
	b, ok := mulCheck(n/bs, uint64(info.BlockBytes))
	if !ok {
		return 0, fmt.Errorf("row of %d %s elements: byte size overflows: %w", n, info.Name, errs.ErrFormat)
	}
	return b, nil
}

// TensorBytes is the byte size of a tensor of type t and shape dims (ggml
// order, row length first). The row length must be a multiple of the block
// size; I2_S tensors take n/4 bytes plus a 32-byte tail holding the scale.
func TensorBytes(t Type, dims []uint64) (uint64, error) {
	if len(dims) == 0 {
		return 0, fmt.Errorf("tensor has no dimensions: %w", errs.ErrFormat)
	}
	n, err := Elements(dims)
	if err != nil {
		return 0, err
	}
	if t == I2_S {
		if n%I2SBlock != 0 {
			return 0, fmt.Errorf("I2_S tensor of %d elements is not a multiple of %d: %w", n, I2SBlock, errs.ErrFormat)
		}
		return n/4 + I2STail, nil
	}
	row, err := RowBytes(t, dims[0])
	if err != nil {
		return 0, err
	}
	if dims[0] == 0 {
		return 0, nil
	}
	total, ok := mulCheck(row, n/dims[0])
	if !ok {
		return 0, fmt.Errorf("tensor dims %v: byte size overflows: %w", dims, errs.ErrFormat)
	}
	return total, nil
}
