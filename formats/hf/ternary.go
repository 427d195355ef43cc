package hf

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// PackedRowsPerByte is how many output rows one byte of a packed weight
// holds: the uint8 tensor [out/4, in] of BitNetForCausalLM checkpoints
// keeps rows r + k*(out/4), k = 0..3, of column c in bits 2k..2k+1 of
// byte [r, c]; the 2-bit code minus 1 is the ternary weight.
const PackedRowsPerByte = 4

// checkPacked verifies that no 2-bit code of a packed weight is 3 (which
// would decode to +2, not a ternary value).
func checkPacked(b []byte, name string) error {
	for i, x := range b {
		if x&(x>>1)&0x55 != 0 {
			return fmt.Errorf("hf: tensor %s: byte %d (%#02x) holds the 2-bit code 3, which is not ternary: %w", name, i, x, errs.ErrFormat)
		}
	}
	return nil
}

// UnpackTernary decodes a packed weight of rows x cols (the bytes of a
// [rows/4, cols] uint8 tensor) into row-major codes -1, 0, +1. A code 3
// decodes to +2; Open rejects such tensors before unpacking them.
func UnpackTernary(packed []byte, rows, cols int) []int8 {
	codes := make([]int8, rows*cols)
	q := rows / PackedRowsPerByte
	for k := range PackedRowsPerByte {
		shift := 2 * k
		for r := range q {
			src := packed[r*cols : (r+1)*cols]
			dst := codes[(k*q+r)*cols : (k*q+r+1)*cols]
			for c, b := range src {
				dst[c] = int8(b>>shift&3) - 1
			}
		}
	}
	return codes
}

// PackTernary encodes row-major codes -1, 0, +1 of rows x cols (rows a
// multiple of 4) as a packed [rows/4, cols] uint8 weight; the inverse of
// UnpackTernary.
func PackTernary(codes []int8, rows, cols int) []byte {
	q := rows / PackedRowsPerByte
	out := make([]byte, q*cols)
	for k := range PackedRowsPerByte {
		for r := range q {
			src := codes[(k*q+r)*cols : (k*q+r+1)*cols]
			dst := out[r*cols : (r+1)*cols]
			for c, v := range src {
				dst[c] |= byte(v+1) << (2 * k)
			}
		}
	}
	return out
}

// halfToInterleaved reorders rows of a q or k projection, head by head,
// from Hugging Face's rotate-half RoPE pairing (i, i+headDim/2) to the
// interleaved pairs (2i, 2i+1) of llama.cpp's `llama` architecture: output
// row 2i+p of a head is input row p*headDim/2 + i. rowBytes is the size of
// one row.
func halfToInterleaved(src []byte, rows, rowBytes, headDim int) []byte {
	out := make([]byte, len(src))
	half := headDim / 2
	for r := range rows {
		h, j := r/headDim, r%headDim
		s := h*headDim + (j%2)*half + j/2
		copy(out[r*rowBytes:(r+1)*rowBytes], src[s*rowBytes:(s+1)*rowBytes])
	}
	return out
}

// InterleavedToHalf is the inverse of the permutation Open applies to q/k
// rows of LlamaForCausalLM checkpoints: it turns interleaved RoPE pairs
// (llama2.c, GGUF `llama`) into Hugging Face's rotate-half order. Rows are
// row-major float32 values of cols columns (tests build checkpoints with
// it).
func InterleavedToHalf(vals []float32, rows, cols, headDim int) []float32 {
	out := make([]float32, len(vals))
	half := headDim / 2
	for r := range rows {
		h, j := r/headDim, r%headDim
		d := h*headDim + (j%2)*half + j/2
		copy(out[d*cols:(d+1)*cols], vals[r*cols:(r+1)*cols])
	}
	return out
}

// codesBytes views int8 codes as bytes (for the row permutation).
func codesBytes(c []int8) []byte {
	b := make([]byte, len(c))
	for i, v := range c {
		b[i] = byte(v)
	}
	return b
}

func bytesCodes(b []byte) []int8 {
	c := make([]int8, len(b))
	for i, v := range b {
		c[i] = int8(v)
	}
	return c
}
