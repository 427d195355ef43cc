package cuda

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/quant"
)

// These tests need no GPU: they run the ternary kernel's arithmetic (the
// index math of tern_body in kernels.cu, with __dp4a) in Go over the
// repacked layout and compare with kernels.Reference bit for bit.

func emuDP4A(a uint32, b []int8, c int32) int32 {
	for i := 0; i < 4; i++ {
		c += int32(a>>(8*i)&0xff) * int32(b[i])
	}
	return c
}

// emulateTern is tern_body of kernels.cu (every row block, every lane)
// on the host. q holds n rows of cols activations and the slack.
func emulateTern(layout []byte, rows, cols int, q []int8, s []float32, n int, scale float32) []float32 {
	G := ceilDivInt(cols, ternGroup)
	out := make([]float32, n*rows)
	for rb := 0; rb < ceilDivInt(rows, ternRowBlock); rb++ {
		for t := 0; t < n; t++ {
			var acc [8]int32
			for lane := 0; lane < 32; lane++ {
				r8, l := lane>>2, lane&3
				for g := 0; g < G; g++ {
					w := layout[((rb*G+g)*32+lane)*16:]
					for m := 0; m < 4; m++ {
						c := binary.LittleEndian.Uint32(w[4*m:])
						qa := t*cols + g*256 + 16*l + 64*m
						for k := 0; k < 4; k++ {
							acc[r8] = emuDP4A(c>>(2*k)&0x03030303, q[qa+4*k:], acc[r8])
						}
					}
				}
			}
			var qsum int32
			for _, v := range q[t*cols : (t+1)*cols] {
				qsum += int32(v)
			}
			for r8 := 0; r8 < 8; r8++ {
				if row := rb*8 + r8; row < rows {
					out[t*rows+row] = float32(acc[r8]-qsum) * (1 / s[t]) * scale
				}
			}
		}
	}
	return out
}

// emuActivations quantizes n random rows (with slack after them).
func emuActivations(r *rand.Rand, n, cols int) ([]int8, []float32) {
	q := make([]int8, n*cols+qSlack)
	s := make([]float32, n)
	x := make([]float32, cols)
	for t := 0; t < n; t++ {
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		s[t], _ = quant.QuantizeActivations(x, q[t*cols:(t+1)*cols])
	}
	return q, s
}

func emuReferenceI8(t *testing.T, w *kernels.Matrix, q []int8, s []float32, n int) []float32 {
	t.Helper()
	pool := kernels.NewPool(1)
	defer pool.Close()
	out := make([]float32, n*w.Rows)
	kernels.NewReference(pool).MatMulI8(out, w, q[:n*w.Cols], s, n)
	return out
}

func emuSameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: output %d is %v, Reference gives %v", what, i, got[i], want[i])
		}
	}
}

func TestRepackedI2SGivesReferenceBitsThroughTheKernelArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][2]int{{1, 128}, {8, 256}, {13, 384}, {40, 640}, {17, 2560}} {
		rows, cols := shape[0], shape[1]
		// Raw bytes: every 2-bit code, including the unused 3 (+2).
		data := make([]byte, rows*cols/4+quant.I2STail)
		for i := range data[:rows*cols/4] {
			data[i] = byte(r.Uint32())
		}
		binary.LittleEndian.PutUint32(data[rows*cols/4:], math.Float32bits(0.75))
		w, err := kernels.NewMatrix("w", quant.I2_S, rows, cols, data, 1.5)
		if err != nil {
			t.Fatal(err)
		}
		layout, scale, err := repackTernary(quant.I2_S, rows, cols, data, 1.5)
		if err != nil {
			t.Fatal(err)
		}
		if len(layout) != ternaryLayoutBytes(rows, cols) || scale != w.Scale {
			t.Fatalf("%dx%d: layout %d bytes scale %v, want %d and %v", rows, cols, len(layout), scale, ternaryLayoutBytes(rows, cols), w.Scale)
		}
		for _, n := range []int{1, 3} {
			q, s := emuActivations(r, n, cols)
			emuSameBits(t, "I2_S", emulateTern(layout, rows, cols, q, s, n, scale), emuReferenceI8(t, w, q, s, n))
		}
	}
}

// emuTQMatrix quantizes codes*d per block (d per block from dOf) to t.
func emuTQMatrix(t *testing.T, typ quant.Type, rows, cols int, codes []int8, dOf func(block int) float32) []byte {
	t.Helper()
	vals := make([]float32, len(codes))
	for i, c := range codes {
		vals[i] = float32(c) * dOf(i/256)
	}
	rb, err := quant.RowBytes(typ, uint64(cols))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, int(rb)*rows)
	if err := quant.Quantize(typ, vals, data); err != nil {
		t.Fatal(err)
	}
	return data
}

func emuCodes(r *rand.Rand, n int) []int8 {
	c := make([]int8, n)
	for i := range c {
		c[i] = int8(r.IntN(3)) - 1
	}
	return c
}

func TestRepackedTQGivesReferenceBitsWhenBlockScalesFold(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rows, cols := 24, 768
	for _, typ := range []quant.Type{quant.TQ2_0, quant.TQ1_0} {
		for _, d := range []float32{1, 0.5, 4} {
			codes := emuCodes(r, rows*cols)
			// One block of zeros (its d is 0, not the common one).
			clear(codes[256:512])
			data := emuTQMatrix(t, typ, rows, cols, codes, func(int) float32 { return d })
			w, err := kernels.NewMatrix("w", typ, rows, cols, data, 1.25)
			if err != nil {
				t.Fatal(err)
			}
			layout, scale, err := repackTernary(typ, rows, cols, data, 1.25)
			if err != nil {
				t.Fatalf("%v d=%v: %v", typ, d, err)
			}
			q, s := emuActivations(r, 2, cols)
			emuSameBits(t, typ.String(), emulateTern(layout, rows, cols, q, s, 2, scale), emuReferenceI8(t, w, q, s, 2))
		}
	}
}

func TestRepackTQRefusesBlocksWithDifferentScales(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rows, cols := 8, 512
	codes := emuCodes(r, rows*cols)
	data := emuTQMatrix(t, quant.TQ2_0, rows, cols, codes, func(b int) float32 { return float32(1 + b%2) })
	if _, _, err := repackTernary(quant.TQ2_0, rows, cols, data, 1); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("mixed block scales: %v, want ErrUnsupported", err)
	}
	data = emuTQMatrix(t, quant.TQ2_0, rows, cols, codes, func(int) float32 { return 0.3 })
	if _, _, err := repackTernary(quant.TQ2_0, rows, cols, data, 1); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("a common scale that is not a power of two: %v, want ErrUnsupported", err)
	}
}

func TestRepackQ8_0KeepsCodesAndScales(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rows, cols := 3, 64
	vals := make([]float32, rows*cols)
	for i := range vals {
		vals[i] = float32(r.NormFloat64())
	}
	data := make([]byte, rows*cols/32*34)
	if err := quant.Quantize(quant.Q8_0, vals, data); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(vals))
	if err := quant.Dequantize(quant.Q8_0, data, want); err != nil {
		t.Fatal(err)
	}
	out, err := repackQ8_0(rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		d := math.Float32frombits(binary.LittleEndian.Uint32(out[rows*cols+4*(i/32):]))
		if got := float32(int8(out[i])) * d; got != want[i] {
			t.Fatalf("value %d: %v, want %v", i, got, want[i])
		}
	}
}

func TestRepackTernaryRejectsBadInput(t *testing.T) {
	if _, _, err := repackTernary(quant.I2_S, 2, 100, make([]byte, 50), 1); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("I2_S rows of 100: %v", err)
	}
	if _, _, err := repackTernary(quant.I2_S, 2, 128, make([]byte, 10), 1); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("short I2_S: %v", err)
	}
	if _, _, err := repackTernary(quant.F32, 2, 128, make([]byte, 1024), 1); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("F32: %v", err)
	}
}
