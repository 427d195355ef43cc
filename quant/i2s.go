package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/bitnet-dev/bitnet/errs"
)

// I2_S (Microsoft bitnet.cpp): a tensor of n ternary weights (n a multiple
// of 128), flattened row-major, is n/4 bytes of 2-bit codes followed by a
// 32-byte tail whose first four bytes are the tensor's little-endian
// float32 scale (the rest is written as zeros). In each block of 128
// weights (32 bytes), byte j holds weights j, j+32, j+64 and j+96 in bits
// 7-6, 5-4, 3-2 and 1-0. Code 0 means -1, 1 means 0, 2 means +1; code 3 is
// never written.

// i2sValue maps a 2-bit code to its unscaled weight. Code 3 reads as +2
// (code - 1), the value integer kernels that compute sum(code*q) - sum(q)
// give it; UnpackI2S rejects it instead.
var i2sValue = [4]float32{-1, 0, 1, 2}

// dequantI2SCodes decodes whole 128-weight blocks to -1, 0, +1 without the
// scale.
func dequantI2SCodes(dst []float32, src []byte) {
	for b := 0; b < len(dst)/I2SBlock; b++ {
		blk := src[b*32 : b*32+32]
		out := dst[b*I2SBlock : (b+1)*I2SBlock]
		for j, v := range blk {
			out[j] = i2sValue[v>>6]
			out[j+32] = i2sValue[v>>4&3]
			out[j+64] = i2sValue[v>>2&3]
			out[j+96] = i2sValue[v&3]
		}
	}
}

// i2sSize checks that n is a valid I2_S weight count and returns the
// tensor's byte size, n/4 + I2STail.
func i2sSize(n int) (int, error) {
	if n < 0 || n%I2SBlock != 0 {
		return 0, fmt.Errorf("I2_S tensor of %d weights is not a multiple of %d", n, I2SBlock)
	}
	return n/4 + I2STail, nil
}

// I2SScale returns the scale stored in the tail of an I2_S tensor of n
// weights; src must be the whole tensor, exactly n/4 + I2STail bytes.
func I2SScale(src []byte, n int) (float32, error) {
	size, err := i2sSize(n)
	if err != nil {
		return 0, fmt.Errorf("I2SScale: %v: %w", err, errs.ErrInvalidArgument)
	}
	if len(src) != size {
		return 0, fmt.Errorf("I2_S tensor of %d weights: have %d bytes, want %d: %w", n, len(src), size, errs.ErrFormat)
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(src[n/4:])), nil
}

// PackI2S writes a whole I2_S tensor: the ternary codes (each -1, 0 or +1;
// len(codes) a multiple of 128) and the scale, into dst of exactly
// len(codes)/4 + I2STail bytes. On error dst may be partly written.
func PackI2S(codes []int8, scale float32, dst []byte) error {
	n := len(codes)
	size, err := i2sSize(n)
	if err != nil {
		return fmt.Errorf("PackI2S: %v: %w", err, errs.ErrInvalidArgument)
	}
	if len(dst) != size {
		return fmt.Errorf("PackI2S: %d weights need %d bytes, dst has %d: %w", n, size, len(dst), errs.ErrInvalidArgument)
	}
	for b := 0; b < n/I2SBlock; b++ {
		c := codes[b*I2SBlock : (b+1)*I2SBlock]
		out := dst[b*32 : b*32+32]
		for j := range out {
			var v byte
			for k := 0; k < 4; k++ {
				code := c[j+32*k]
				if code < -1 || code > 1 {
					return fmt.Errorf("PackI2S: code %d at weight %d is not -1, 0 or +1: %w", code, b*I2SBlock+j+32*k, errs.ErrInvalidArgument)
				}
				v |= byte(code+1) << (6 - 2*k)
			}
			out[j] = v
		}
	}
	putI2STail(dst[n/4:], scale)
	return nil
}

// putI2STail writes the scale and zeroes the rest of the tail.
func putI2STail(tail []byte, scale float32) {
	clear(tail)
	binary.LittleEndian.PutUint32(tail, math.Float32bits(scale))
}

// UnpackI2S decodes a whole I2_S tensor of len(codes) weights into codes
// (-1, 0, +1) and returns its scale. src must be exactly len(codes)/4 +
// I2STail bytes. The unused code 3 is reported as a format error.
func UnpackI2S(src []byte, codes []int8) (scale float32, err error) {
	n := len(codes)
	size, err := i2sSize(n)
	if err != nil {
		return 0, fmt.Errorf("UnpackI2S: %v: %w", err, errs.ErrInvalidArgument)
	}
	if len(src) != size {
		return 0, fmt.Errorf("I2_S tensor of %d weights: have %d bytes, want %d: %w", n, len(src), size, errs.ErrFormat)
	}
	for b := 0; b < n/I2SBlock; b++ {
		blk := src[b*32 : b*32+32]
		c := codes[b*I2SBlock : (b+1)*I2SBlock]
		for j, v := range blk {
			for k := 0; k < 4; k++ {
				code := v >> (6 - 2*k) & 3
				if code == 3 {
					return 0, fmt.Errorf("I2_S weight %d has the unused code 3: %w", b*I2SBlock+j+32*k, errs.ErrFormat)
				}
				c[j+32*k] = int8(code) - 1
			}
		}
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(src[n/4:])), nil
}

// quantizeI2S stores src as I2_S into dst (already checked to be
// len(src)/4 + I2STail bytes). A ternary-valued input ({-a, 0, +a}) is
// stored exactly with scale a, as bitnet.cpp's quantize_i2_s does for the
// pre-ternarized weights its converter hands it; any other input is
// ternarized with absmean first and stored with scale gamma.
func quantizeI2S(src []float32, dst []byte) error {
	for i, v := range src {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("I2_S: weight %d is %v: %w", i, v, errs.ErrQuantization)
		}
	}
	scale, ok := ternaryScale(src)
	if !ok {
		scale = absmeanGamma(src)
	}
	n := len(src)
	for b := 0; b < n/I2SBlock; b++ {
		x := src[b*I2SBlock : (b+1)*I2SBlock]
		out := dst[b*32 : b*32+32]
		for j := range out {
			var v byte
			for k := 0; k < 4; k++ {
				v |= byte(ternaryCode(x[j+32*k], scale)+1) << (6 - 2*k)
			}
			out[j] = v
		}
	}
	putI2STail(dst[n/4:], scale)
	return nil
}
