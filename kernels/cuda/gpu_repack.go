package cuda

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// The GPU layout of a ternary matrix (kernels.cu explains it): rows in
// blocks of 8, columns in groups of 256, both zero-padded; per (row block,
// group) 32 16-byte words, one per lane; byte b of 32-bit word m of lane
// 4*r8+l holds, in bits 2k..2k+1, the weight+1 of row 8*rb+r8 and column
// 256*g + 64*m + 16*l + 4*k + b. Padding holds code 0, which adds nothing
// to the kernel's sum (its activations are not subtracted either).

const (
	ternRowBlock = 8
	ternGroup    = 256
	// ternGroupBytes is the size of one row's group in the layout.
	ternGroupBytes = ternGroup / 4
)

// ternaryLayoutBytes is the size of a rows x cols matrix in the GPU layout.
func ternaryLayoutBytes(rows, cols int) int {
	return roundUp(rows, ternRowBlock) * ceilDivInt(cols, ternGroup) * ternGroupBytes
}

func ceilDivInt(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDivInt(a, b) * b }

// ternaryOffset is the byte of the layout holding (row block rb, group g,
// row r8 of the block, lane part l, word m, byte b) for a matrix of G
// groups per row.
func ternaryOffset(rb, g, G, r8, l, m, b int) int {
	return ((rb*G+g)*32+r8*4+l)*16 + 4*m + b
}

// repackTernary converts a ternary matrix (I2_S codes with or without the
// tensor's tail, TQ2_0 or TQ1_0) to the GPU layout. It returns the layout
// and the output scale the kernel multiplies by: scale, times the I2_S
// tail's scale when data has the tail, times the common block scale of TQ
// types. TQ matrices whose blocks do not share one scale (1, or a power of
// two, with the bounds that keep the CPU reference's per-block sums exact)
// cannot give the Reference's bits with one integer sum per row and are
// refused with errs.ErrUnsupported.
func repackTernary(t quant.Type, rows, cols int, data []byte, scale float32) ([]byte, float32, error) {
	if rows <= 0 || cols <= 0 {
		return nil, 0, fmt.Errorf("ternary matrix %dx%d: %w", rows, cols, errs.ErrInvalidArgument)
	}
	switch t {
	case quant.I2_S:
		if cols%quant.I2SBlock != 0 {
			return nil, 0, fmt.Errorf("I2_S rows of %d weights are not a multiple of %d: %w", cols, quant.I2SBlock, errs.ErrUnsupported)
		}
		need := rows * cols / 4
		switch len(data) {
		case need:
		case need + quant.I2STail:
			s, err := quant.I2SScale(data, rows*cols)
			if err != nil {
				return nil, 0, err
			}
			scale *= s
			data = data[:need]
		default:
			return nil, 0, fmt.Errorf("I2_S %dx%d: %d bytes, want %d (or %d with the tail): %w", rows, cols, len(data), need, need+quant.I2STail, errs.ErrInvalidArgument)
		}
		return repackI2S(rows, cols, data), scale, nil
	case quant.TQ2_0, quant.TQ1_0:
		return repackTQ(t, rows, cols, data, scale)
	}
	return nil, 0, fmt.Errorf("weight type %v is not ternary: %w", t, errs.ErrUnsupported)
}

// parallelRowBlocks runs f over the row blocks [lo, hi) of nb blocks on
// every CPU.
func parallelRowBlocks(nb int, f func(lo, hi int)) {
	workers := min(runtime.NumCPU(), nb)
	if workers <= 1 {
		f(0, nb)
		return
	}
	var wg sync.WaitGroup
	per := ceilDivInt(nb, workers)
	for lo := 0; lo < nb; lo += per {
		hi := min(lo+per, nb)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// repackI2S moves I2_S codes (cols a multiple of 128) into the layout. In
// an I2_S block of 128 weights, byte j holds columns j, j+32, j+64, j+96
// in bits 7-6, 5-4, 3-2, 1-0, already as weight+1.
func repackI2S(rows, cols int, data []byte) []byte {
	G := ceilDivInt(cols, ternGroup)
	nb := ceilDivInt(rows, ternRowBlock)
	dst := make([]byte, ternaryLayoutBytes(rows, cols))
	rowBytes := cols / 4
	parallelRowBlocks(nb, func(lo, hi int) {
		for rb := lo; rb < hi; rb++ {
			for r8 := 0; r8 < ternRowBlock; r8++ {
				r := rb*ternRowBlock + r8
				if r >= rows {
					break
				}
				src := data[r*rowBytes : (r+1)*rowBytes]
				for g := 0; g < G; g++ {
					for l := 0; l < 4; l++ {
						for m := 0; m < 4; m++ {
							base := ternGroup*g + 64*m + 16*l
							if base >= cols {
								continue
							}
							w := base % quant.I2SBlock
							sh := 6 - 2*(w/32)
							s := src[(base/quant.I2SBlock)*32+w%32:]
							off := ternaryOffset(rb, g, G, r8, l, m, 0)
							for b := 0; b < 4; b++ {
								var v byte
								for k := 0; k < 4; k++ {
									v |= (s[4*k+b] >> sh & 3) << (2 * k)
								}
								dst[off+b] = v
							}
						}
					}
				}
			}
		}
	})
	return dst
}

// packCodes writes rows of codes (-1..2, cols per row) into the layout.
func packCodes(rows, cols int, codes []int8) []byte {
	G := ceilDivInt(cols, ternGroup)
	nb := ceilDivInt(rows, ternRowBlock)
	dst := make([]byte, ternaryLayoutBytes(rows, cols))
	parallelRowBlocks(nb, func(lo, hi int) {
		for rb := lo; rb < hi; rb++ {
			for r8 := 0; r8 < ternRowBlock; r8++ {
				r := rb*ternRowBlock + r8
				if r >= rows {
					break
				}
				row := codes[r*cols : (r+1)*cols]
				for g := 0; g < G; g++ {
					for l := 0; l < 4; l++ {
						for m := 0; m < 4; m++ {
							base := ternGroup*g + 64*m + 16*l
							off := ternaryOffset(rb, g, G, r8, l, m, 0)
							for b := 0; b < 4; b++ {
								var v byte
								for k := 0; k < 4; k++ {
									if c := base + 4*k + b; c < cols {
										v |= byte(row[c]+1) & 3 << (2 * k)
									}
								}
								dst[off+b] = v
							}
						}
					}
				}
			}
		}
	})
	return dst
}

// tqBlock returns the byte size of a TQ block and the offset of its f16 d.
func tqBlock(t quant.Type) (size, dOff int) {
	if t == quant.TQ1_0 {
		return 54, 52
	}
	return 66, 64
}

// maxFoldCols bounds the row length for which the CPU reference's
// per-block float sums of a TQ matrix are exact integers (|sum| <= 2^24).
const maxFoldCols = 1 << 16

// repackTQ decodes a TQ1_0 / TQ2_0 matrix to codes and checks that its
// block scales fold into one output scale without changing the CPU
// reference's result: every block with a nonzero code has the same d = D
// (blocks of zeros may have any finite d), and either every d is 1 or
// (rows short enough for exact per-block sums) |D| is a power of two of
// moderate exponent.
func repackTQ(t quant.Type, rows, cols int, data []byte, scale float32) ([]byte, float32, error) {
	if cols%256 != 0 {
		return nil, 0, fmt.Errorf("%v rows of %d weights are not a multiple of 256: %w", t, cols, errs.ErrInvalidArgument)
	}
	bsize, dOff := tqBlock(t)
	nbk := cols / 256
	rowBytes := nbk * bsize
	if len(data) != rows*rowBytes {
		return nil, 0, fmt.Errorf("%v %dx%d: %d bytes, want %d: %w", t, rows, cols, len(data), rows*rowBytes, errs.ErrInvalidArgument)
	}
	codes := make([]int8, rows*cols)
	vals := make([]float32, cols)
	allOne := true
	common := float32(0)
	haveCommon := false
	for r := 0; r < rows; r++ {
		row := data[r*rowBytes : (r+1)*rowBytes]
		if err := quant.DequantizeRow(t, row, vals); err != nil {
			return nil, 0, err
		}
		for b := 0; b < nbk; b++ {
			d := quant.F16ToF32(binary.LittleEndian.Uint16(row[b*bsize+dOff:]))
			if math.IsNaN(float64(d)) || math.IsInf(float64(d), 0) {
				return nil, 0, fmt.Errorf("%v block %d of row %d has scale %v: %w", t, b, r, d, errs.ErrUnsupported)
			}
			if d != 1 {
				allOne = false
			}
			nonzero := false
			for j := b * 256; j < (b+1)*256; j++ {
				c := int8(0)
				if d != 0 && vals[j] != 0 {
					q := vals[j] / d
					switch q {
					case -1, 1, 2:
						c = int8(q)
					default:
						return nil, 0, fmt.Errorf("%v row %d weight %d is %v with block scale %v: %w", t, r, j, vals[j], d, errs.ErrFormat)
					}
					nonzero = true
				}
				codes[r*cols+j] = c
			}
			if nonzero {
				if haveCommon && d != common {
					return nil, 0, fmt.Errorf("%v matrix has block scales %v and %v: only one shared scale runs on the GPU: %w", t, common, d, errs.ErrUnsupported)
				}
				common, haveCommon = d, true
			}
		}
	}
	if !allOne {
		if cols > maxFoldCols {
			return nil, 0, fmt.Errorf("%v rows of %d weights with block scales other than 1: %w", t, cols, errs.ErrUnsupported)
		}
		if haveCommon && common != 1 {
			frac, exp := math.Frexp(math.Abs(float64(common)))
			if frac != 0.5 || exp < -60 || exp > 60 {
				return nil, 0, fmt.Errorf("%v block scale %v is not a power of two: %w", t, common, errs.ErrUnsupported)
			}
			scale *= common
		}
	}
	return packCodes(rows, cols, codes), scale, nil
}

// repackQ8_0 converts Q8_0 rows to the layout of matmul_q8_0: the int8
// codes [rows][cols], then the block scales as float32 [rows][cols/32].
func repackQ8_0(rows, cols int, data []byte) ([]byte, error) {
	const bs, bb = 32, 34
	if cols%bs != 0 || len(data) != rows*cols/bs*bb {
		return nil, fmt.Errorf("Q8_0 %dx%d: %d bytes: %w", rows, cols, len(data), errs.ErrInvalidArgument)
	}
	nb := rows * cols / bs
	out := make([]byte, rows*cols+4*nb)
	for i := 0; i < nb; i++ {
		blk := data[i*bb : (i+1)*bb]
		copy(out[i*bs:(i+1)*bs], blk[2:])
		d := quant.F16ToF32(binary.LittleEndian.Uint16(blk))
		binary.LittleEndian.PutUint32(out[rows*cols+4*i:], math.Float32bits(d))
	}
	return out, nil
}

// float32Bytes decodes rows x cols of any dequantizable type to float32
// bytes, times scale (1 leaves the values as decoded).
func float32Bytes(t quant.Type, rows, cols int, data []byte, scale float32) ([]byte, error) {
	vals := make([]float32, rows*cols)
	if err := quant.Dequantize(t, data, vals); err != nil {
		return nil, err
	}
	out := make([]byte, 4*len(vals))
	for i, v := range vals {
		if scale != 1 {
			v *= scale
		}
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out, nil
}
