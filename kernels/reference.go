package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/bitnet-dev/bitnet/quant"
)

// Reference is the plain Go implementation of Backend: portable, simple,
// and the oracle for every faster kernel. Its arithmetic follows the
// reference programs (llama2.c, bitnet.cpp): float32 sums in index order,
// exact integer dot products for ternary weights. Products are converted to
// float32 before they are added (s += float32(a*b)): the Go spec lets a
// compiler fuse a*b+c into one FMA (gc does for GOAMD64=v3 and on arm64),
// and an explicit conversion is what forbids it, so the results are the same
// on every platform and build.
type Reference struct {
	pool    *Pool
	scratch []refScratch // one per worker, touched only inside pool.Run
}

type refScratch struct {
	row    []float32 // a dequantized row
	codes  []int8    // a row of ternary codes
	blockD []float32 // block scales of a ternary row
	scores []float32 // attention scores
}

// NewReference returns the reference backend running on pool.
func NewReference(pool *Pool) *Reference {
	return &Reference{pool: pool, scratch: make([]refScratch, pool.Threads())}
}

// Name implements Backend.
func (r *Reference) Name() string { return "go" }

// Threads implements Backend.
func (r *Reference) Threads() int { return r.pool.Threads() }

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// rowGrain is how many matrix rows a worker takes at a time.
const rowGrain = 8

// MatMul implements Backend.
func (r *Reference) MatMul(out []float32, w *Matrix, x []float32, n int) {
	rows, cols := w.Rows, w.Cols
	r.pool.Run(rows, rowGrain, func(worker, lo, hi int) {
		sc := &r.scratch[worker]
		sc.row = grow(sc.row, cols)
		for i := lo; i < hi; i++ {
			row := floatRow(w, i, sc.row)
			for t := 0; t < n; t++ {
				out[t*rows+i] = dotF32(row, x[t*cols:(t+1)*cols]) * w.Scale
			}
		}
	})
}

// floatRow returns row i of w as float32, in place for aligned F32 data and
// decoded into buf otherwise.
func floatRow(w *Matrix, i int, buf []float32) []float32 {
	b := w.Row(i)
	if w.Type == quant.F32 {
		if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 == 0 {
			return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), w.Cols)
		}
		for j := range buf {
			buf[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		return buf
	}
	// The type was checked by NewMatrix: its row decoder exists.
	_ = quant.DequantizeRow(w.Type, b, buf)
	return buf
}

func dotF32(a, b []float32) float32 {
	var s float32
	b = b[:len(a)]
	for i, v := range a {
		s += float32(v * b[i])
	}
	return s
}

// QuantizeRows implements Backend.
func (r *Reference) QuantizeRows(q []int8, s []float32, x []float32, n, cols int) {
	for t := 0; t < n; t++ {
		s[t], _ = quant.QuantizeActivations(x[t*cols:(t+1)*cols], q[t*cols:(t+1)*cols])
	}
}

// MatMulI8 implements Backend.
func (r *Reference) MatMulI8(out []float32, w *Matrix, q []int8, s []float32, n int) {
	rows, cols := w.Rows, w.Cols
	r.pool.Run(rows, rowGrain, func(worker, lo, hi int) {
		sc := &r.scratch[worker]
		sc.codes = grow(sc.codes, cols)
		nb := cols / ternaryBlock(w.Type)
		sc.blockD = grow(sc.blockD, nb)
		for i := lo; i < hi; i++ {
			decodeTernaryRow(w.Type, w.Row(i), sc.codes, sc.blockD)
			for t := 0; t < n; t++ {
				acc := ternaryDot(sc.codes, q[t*cols:(t+1)*cols], sc.blockD)
				out[t*rows+i] = acc * (1 / s[t]) * w.Scale
			}
		}
	})
}

// ternaryBlock is the span of one block scale (the whole row for I2_S,
// which has one scale per tensor).
func ternaryBlock(t quant.Type) int {
	if t == quant.I2_S {
		return quant.I2SBlock
	}
	return 256
}

// ternaryDot sums codes*q exactly per block and weights each block's integer
// sum by its scale. I2_S blocks all have scale 1, so the whole row is one
// exact integer.
func ternaryDot(codes []int8, q []int8, blockD []float32) float32 {
	bs := len(codes) / len(blockD)
	var acc float32
	var whole int32
	uniform := true
	for b, d := range blockD {
		var dot int32
		c, x := codes[b*bs:(b+1)*bs], q[b*bs:(b+1)*bs]
		for j, v := range c {
			dot += int32(v) * int32(x[j])
		}
		if d != 1 {
			uniform = false
		}
		whole += dot
		acc += float32(float32(dot) * d)
	}
	if uniform {
		return float32(whole)
	}
	return acc
}

// decodeTernaryRow expands one row of a ternary type into codes -1/0/+1
// and per-block scales.
func decodeTernaryRow(t quant.Type, row []byte, codes []int8, blockD []float32) {
	switch t {
	case quant.I2_S:
		for b := range blockD {
			blockD[b] = 1
			blk, c := row[b*32:(b+1)*32], codes[b*128:(b+1)*128]
			for j, v := range blk {
				c[j] = int8(v>>6&3) - 1
				c[j+32] = int8(v>>4&3) - 1
				c[j+64] = int8(v>>2&3) - 1
				c[j+96] = int8(v&3) - 1
			}
		}
	case quant.TQ2_0:
		for b := range blockD {
			blk, c := row[b*66:(b+1)*66], codes[b*256:(b+1)*256]
			for h := 0; h < 2; h++ {
				for m := 0; m < 32; m++ {
					v := blk[32*h+m]
					for k := 0; k < 4; k++ {
						c[128*h+32*k+m] = int8(v>>(2*k)&3) - 1
					}
				}
			}
			blockD[b] = quant.F16ToF32(binary.LittleEndian.Uint16(blk[64:]))
		}
	case quant.TQ1_0:
		for b := range blockD {
			blk, c := row[b*54:(b+1)*54], codes[b*256:(b+1)*256]
			for m := 0; m < 32; m++ {
				for k := 0; k < 5; k++ {
					c[m+32*k] = trit(blk[m], k)
				}
			}
			for m := 0; m < 16; m++ {
				for k := 0; k < 5; k++ {
					c[160+m+16*k] = trit(blk[32+m], k)
				}
			}
			for j := 0; j < 4; j++ {
				for k := 0; k < 4; k++ {
					c[240+j+4*k] = trit(blk[48+j], k)
				}
			}
			blockD[b] = quant.F16ToF32(binary.LittleEndian.Uint16(blk[52:]))
		}
	}
}

var pow3 = [5]uint16{1, 3, 9, 27, 81}

// trit extracts trit k (most significant first) of a TQ1_0 byte, as -1/0/+1.
func trit(b byte, k int) int8 {
	q := uint16(b) * pow3[k] & 0xff
	return int8(q*3>>8) - 1
}
