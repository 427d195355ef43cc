package quant

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// Codecs available (Info.CanDequantize / CanQuantize): F32, F16, BF16,
// Q4_0, Q4_1, Q8_0, Q6_K, TQ1_0, TQ2_0, and I2_S through Dequantize,
// Quantize and the I2S helpers. Quantizers are bit-exact with ggml's
// reference (quantize_row_*_ref) implementations and gguf-py.

// codecInfo returns the registry entry of t or an ErrUnsupported error.
func codecInfo(t Type) (*Info, error) {
	info, ok := registry[t]
	if !ok {
		return nil, fmt.Errorf("tensor type %v: %w", t, errs.ErrUnsupported)
	}
	return info, nil
}

// Dequantize decodes a whole tensor of len(dst) elements of type t. src must
// be exactly the tensor's bytes (TensorBytes of a 1-D tensor of len(dst)
// elements). I2_S values are the codes times the tensor's scale.
func Dequantize(t Type, src []byte, dst []float32) error {
	info, err := codecInfo(t)
	if err != nil {
		return err
	}
	if info.dequant == nil {
		return fmt.Errorf("no decoder for %s tensors: %w", info.Name, errs.ErrUnsupported)
	}
	size, err := TensorBytes(t, []uint64{uint64(len(dst))})
	if err != nil {
		return fmt.Errorf("dequantize: %w", err)
	}
	if uint64(len(src)) != size {
		return fmt.Errorf("dequantize %d %s elements: have %d bytes, want %d: %w", len(dst), info.Name, len(src), size, errs.ErrFormat)
	}
	if t != I2_S {
		info.dequant(dst, src)
		return nil
	}
	n := len(dst)
	scale, err := I2SScale(src, n)
	if err != nil {
		return err
	}
	dequantI2SCodes(dst, src[:n/4])
	for i := range dst {
		dst[i] *= scale
	}
	return nil
}

// DequantizeRow decodes one row of len(dst) elements of a block type from
// exactly RowBytes(t, len(dst)) bytes. I2_S packs whole tensors and has no
// per-row encoding with a scale: use Dequantize, UnpackI2S or I2SScale.
func DequantizeRow(t Type, src []byte, dst []float32) error {
	info, err := codecInfo(t)
	if err != nil {
		return err
	}
	if t == I2_S {
		return fmt.Errorf("I2_S is a whole-tensor format; use Dequantize, UnpackI2S or I2SScale: %w", errs.ErrUnsupported)
	}
	if info.dequant == nil {
		return fmt.Errorf("no decoder for %s tensors: %w", info.Name, errs.ErrUnsupported)
	}
	size, err := RowBytes(t, uint64(len(dst)))
	if err != nil {
		return fmt.Errorf("dequantize row: %w", err)
	}
	if uint64(len(src)) != size {
		return fmt.Errorf("dequantize row of %d %s elements: have %d bytes, want %d: %w", len(dst), info.Name, len(src), size, errs.ErrFormat)
	}
	info.dequant(dst, src)
	return nil
}

// Quantize encodes a whole tensor of len(src) elements as type t into dst,
// which must be exactly TensorBytes of a 1-D tensor of len(src) elements.
// The element count must be a multiple of the type's block size
// (ErrQuantization otherwise).
//
// For I2_S, a ternary-valued input (every value 0 or ±a, see
// TernaryValues) is stored exactly with scale a; any other input is
// ternarized with AbsmeanTernarize and stored with scale gamma. NaN or Inf
// weights are refused for I2_S (ErrQuantization); the ggml block types
// accept them as ggml does, without guarantees on the bytes.
func Quantize(t Type, src []float32, dst []byte) error {
	info, err := codecInfo(t)
	if err != nil {
		return err
	}
	if info.quant == nil && t != I2_S {
		return fmt.Errorf("no encoder for %s tensors: %w", info.Name, errs.ErrUnsupported)
	}
	n := uint64(len(src))
	if n%uint64(info.BlockSize) != 0 {
		return fmt.Errorf("%d elements cannot be quantized to %s (block size %d): %w", n, info.Name, info.BlockSize, errs.ErrQuantization)
	}
	size, err := TensorBytes(t, []uint64{n})
	if err != nil {
		return fmt.Errorf("quantize: %v: %w", err, errs.ErrQuantization)
	}
	if uint64(len(dst)) != size {
		return fmt.Errorf("quantize %d %s elements: dst has %d bytes, want %d: %w", n, info.Name, len(dst), size, errs.ErrInvalidArgument)
	}
	if t == I2_S {
		return quantizeI2S(src, dst)
	}
	info.quant(dst, src)
	return nil
}
