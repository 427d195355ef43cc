package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bitnet-dev/bitnet/quant"
)

func newRef(threads int) (*Reference, func()) {
	p := NewPool(threads)
	return NewReference(p), p.Close
}

func randCodes(r *rand.Rand, n int) []int8 {
	c := make([]int8, n)
	for i := range c {
		c[i] = int8(r.IntN(3)) - 1
	}
	return c
}

// ternaryMatrix encodes random codes as type t. For TQ types every
// 256-block gets its own scale (a power of two, exact in float16); it
// returns the codes and the per-element scale applied.
func ternaryMatrix(t *testing.T, r *rand.Rand, typ quant.Type, rows, cols int) (*Matrix, []int8, []float32) {
	t.Helper()
	codes := randCodes(r, rows*cols)
	elemScale := make([]float32, len(codes))
	var data []byte
	scale := float32(0.75)
	switch typ {
	case quant.I2_S:
		data = make([]byte, len(codes)/4+quant.I2STail)
		if err := quant.PackI2S(codes, scale, data); err != nil {
			t.Fatal(err)
		}
		for i := range elemScale {
			elemScale[i] = scale
		}
	default:
		vals := make([]float32, len(codes))
		for b := 0; b < len(codes)/256; b++ {
			d := float32(math.Ldexp(1, r.IntN(5)-2))
			codes[b*256] = 1 // a nonzero code, so the block's max is d
			for i := b * 256; i < (b+1)*256; i++ {
				vals[i] = d * float32(codes[i])
				elemScale[i] = d
			}
		}
		sz, _ := quant.TensorBytes(typ, []uint64{uint64(cols), uint64(rows)})
		data = make([]byte, sz)
		if err := quant.Quantize(typ, vals, data); err != nil {
			t.Fatal(err)
		}
		scale = 1
	}
	m, err := NewMatrix("w", typ, rows, cols, data, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m, codes, elemScale
}

func TestDecodeTernaryRowAgreesWithQuantDequantize(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0} {
		m, codes, elemScale := ternaryMatrix(t, r, typ, 4, 512)
		got := make([]int8, m.Cols)
		blockD := make([]float32, m.Cols/ternaryBlock(typ))
		for row := 0; row < m.Rows; row++ {
			decodeTernaryRow(typ, m.Row(row), got, blockD)
			for j, c := range got {
				want := codes[row*m.Cols+j]
				if c != want {
					t.Fatalf("%v row %d col %d: code %d, want %d", typ, row, j, c, want)
				}
				d := blockD[j/ternaryBlock(typ)] * m.Scale
				if d != elemScale[row*m.Cols+j] {
					t.Fatalf("%v row %d col %d: scale %v, want %v", typ, row, j, d, elemScale[row*m.Cols+j])
				}
			}
		}
	}
}

func TestMatMulI8MatchesIntegerArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ref, done := newRef(3)
	defer done()
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0} {
		for _, shape := range [][2]int{{1, 256}, {37, 512}, {64, 768}} {
			rows, cols, n := shape[0], shape[1], 3
			m, codes, elemScale := ternaryMatrix(t, r, typ, rows, cols)
			x := make([]float32, n*cols)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			q, s := make([]int8, n*cols), make([]float32, n)
			ref.QuantizeRows(q, s, x, n, cols)
			out := make([]float32, n*rows)
			ref.MatMulI8(out, m, q, s, n)
			for tk := 0; tk < n; tk++ {
				for i := 0; i < rows; i++ {
					// Independent: float64 sum of code*scale*q.
					var want float64
					for j := 0; j < cols; j++ {
						want += float64(codes[i*cols+j]) * float64(elemScale[i*cols+j]) * float64(q[tk*cols+j])
					}
					want /= float64(s[tk])
					got := float64(out[tk*rows+i])
					if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
						t.Fatalf("%v %dx%d token %d row %d: %v, want %v", typ, rows, cols, tk, i, got, want)
					}
				}
			}
		}
	}
}

func TestMatMulFloatTypesMatchFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ref, done := newRef(2)
	defer done()
	rows, cols, n := 19, 512, 2
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	x := make([]float32, n*cols)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for _, c := range []struct {
		typ quant.Type
		tol float64
	}{{quant.F32, 1e-5}, {quant.F16, 2e-3}, {quant.BF16, 1e-2}, {quant.Q8_0, 1e-2}, {quant.Q6_K, 3e-2}, {quant.Q4_0, 0.15}, {quant.Q4_1, 0.15}} {
		sz, _ := quant.TensorBytes(c.typ, []uint64{uint64(cols), uint64(rows)})
		data := make([]byte, sz)
		if err := quant.Quantize(c.typ, w, data); err != nil {
			t.Fatal(err)
		}
		m, err := NewMatrix("w", c.typ, rows, cols, data, 2)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, n*rows)
		ref.MatMul(out, m, x, n)
		var errMax, normMax float64
		for tk := 0; tk < n; tk++ {
			for i := 0; i < rows; i++ {
				var want float64
				for j := 0; j < cols; j++ {
					want += float64(w[i*cols+j]) * float64(x[tk*cols+j])
				}
				want *= 2
				errMax = math.Max(errMax, math.Abs(float64(out[tk*rows+i])-want))
				normMax = math.Max(normMax, math.Abs(want))
			}
		}
		if errMax > c.tol*normMax {
			t.Errorf("%v: max error %g of max %g, tolerance %g", c.typ, errMax, normMax, c.tol)
		}
	}
}

func TestRMSNormMatchesFloat64(t *testing.T) {
	ref, done := newRef(1)
	defer done()
	r := rand.New(rand.NewPCG(7, 8))
	dim, n := 300, 3
	x, w := make([]float32, n*dim), make([]float32, dim)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	for i := range w {
		w[i] = float32(r.Float64())
	}
	out := make([]float32, n*dim)
	ref.RMSNorm(out, x, w, n, dim, 1e-5)
	for tk := 0; tk < n; tk++ {
		var ss float64
		for _, v := range x[tk*dim : (tk+1)*dim] {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Sqrt(ss/float64(dim)+1e-5)
		for j := 0; j < dim; j++ {
			want := float64(x[tk*dim+j]) * inv * float64(w[j])
			if math.Abs(float64(out[tk*dim+j])-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Fatalf("row %d col %d: %v, want %v", tk, j, out[tk*dim+j], want)
			}
		}
	}
}

// toHalf permutes the elements of each head from adjacent-pair order to
// rotate-half order, as converters permute q/k rows.
func toHalf(x []float32, headDim int) []float32 {
	out := make([]float32, len(x))
	for i := range x {
		head, j := i/headDim, i%headDim
		dst := head*headDim + j/2
		if j%2 == 1 {
			dst += headDim / 2
		}
		out[dst] = x[i]
	}
	return out
}

func TestRopeHalfOnPermutedRowsEqualsRopeAdjacent(t *testing.T) {
	ref, done := newRef(1)
	defer done()
	r := rand.New(rand.NewPCG(9, 10))
	heads, hd, n := 3, 16, 5
	x := make([]float32, n*heads*hd)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	adj := append([]float32(nil), x...)
	half := toHalf(x, hd)
	ref.Rope(adj, n, heads, hd, 7, NewRopeTable(10000, hd, RopeAdjacent))
	ref.Rope(half, n, heads, hd, 7, NewRopeTable(10000, hd, RopeHalf))
	want := toHalf(adj, hd)
	for i := range want {
		if half[i] != want[i] {
			t.Fatalf("element %d: %v, want %v", i, half[i], want[i])
		}
	}
	// And the rotation is the one of the definition, for one element pair.
	pos, i := 7+2, 3 // token 2, pair 3 of head 0
	theta := float64(pos) * math.Pow(10000, -2*float64(i)/float64(hd))
	x0, x1 := float64(x[2*heads*hd+2*i]), float64(x[2*heads*hd+2*i+1])
	if got, w := float64(adj[2*heads*hd+2*i]), x0*math.Cos(theta)-x1*math.Sin(theta); math.Abs(got-w) > 1e-5 {
		t.Fatalf("rotated value %v, want %v", got, w)
	}
}

func attendNaive(q, k, v []float32, n, start int, a AttentionShape) []float64 {
	hd, qs, kvs := a.HeadDim, a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	out := make([]float64, n*qs)
	for t := 0; t < n; t++ {
		for h := 0; h < a.Heads; h++ {
			kvh := h / (a.Heads / a.KVHeads)
			pos := start + t
			sc := make([]float64, pos+1)
			mx := math.Inf(-1)
			for p := 0; p <= pos; p++ {
				var s float64
				for i := 0; i < hd; i++ {
					s += float64(q[t*qs+h*hd+i]) * float64(k[p*kvs+kvh*hd+i])
				}
				sc[p] = s * float64(a.Scale)
				mx = math.Max(mx, sc[p])
			}
			var sum float64
			for p := range sc {
				sc[p] = math.Exp(sc[p] - mx)
				sum += sc[p]
			}
			for p := range sc {
				for i := 0; i < hd; i++ {
					out[t*qs+h*hd+i] += sc[p] / sum * float64(v[p*kvs+kvh*hd+i])
				}
			}
		}
	}
	return out
}

func TestAttendMatchesNaiveGroupedAttention(t *testing.T) {
	ref, done := newRef(2)
	defer done()
	r := rand.New(rand.NewPCG(11, 12))
	a := AttentionShape{Heads: 6, KVHeads: 2, HeadDim: 8, Scale: float32(1 / math.Sqrt(8))}
	start, n := 4, 3
	total := start + n
	q := make([]float32, n*a.Heads*a.HeadDim)
	k := make([]float32, total*a.KVHeads*a.HeadDim)
	v := make([]float32, total*a.KVHeads*a.HeadDim)
	for _, s := range [][]float32{q, k, v} {
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
	}
	for _, mode := range []RopeMode{RopeAdjacent, RopeHalf} {
		out := make([]float32, len(q))
		ref.Attend(out, q, k, v, n, start, a, NewRopeTable(10000, a.HeadDim, mode))
		want := attendNaive(q, k, v, n, start, a)
		for i := range want {
			if math.Abs(float64(out[i])-want[i]) > 1e-5 {
				t.Fatalf("mode %d element %d: %v, want %v", mode, i, out[i], want[i])
			}
		}
	}
}

func TestAttendScoresAreLayoutInvariant(t *testing.T) {
	ref, done := newRef(1)
	defer done()
	r := rand.New(rand.NewPCG(13, 14))
	a := AttentionShape{Heads: 2, KVHeads: 1, HeadDim: 32, Scale: float32(1 / math.Sqrt(32))}
	n := 9
	q := make([]float32, n*a.Heads*a.HeadDim)
	k := make([]float32, n*a.KVHeads*a.HeadDim)
	v := make([]float32, n*a.KVHeads*a.HeadDim)
	for _, s := range [][]float32{q, k, v} {
		for i := range s {
			s[i] = float32(r.NormFloat64() * 4)
		}
	}
	adj := make([]float32, len(q))
	ref.Attend(adj, q, k, v, n, 0, a, NewRopeTable(10000, 32, RopeAdjacent))
	half := make([]float32, len(q))
	ref.Attend(half, toHalf(q, 32), toHalf(k, 32), v, n, 0, a, NewRopeTable(10000, 32, RopeHalf))
	for i := range adj {
		if adj[i] != half[i] {
			t.Fatalf("element %d: adjacent layout %v, rotate-half layout %v", i, adj[i], half[i])
		}
	}
}

func TestGLUActivations(t *testing.T) {
	ref, done := newRef(1)
	defer done()
	gate := []float32{-2, -0.5, 0, 0.5, 3}
	up := []float32{1, 2, 3, 4, 5}
	out := make([]float32, 5)
	ref.GLU(out, gate, up, 5, ReLUSquared)
	for i, g := range gate {
		want := float32(math.Max(float64(g), 0)) * float32(math.Max(float64(g), 0)) * up[i]
		if out[i] != want {
			t.Fatalf("relu^2 %d: %v, want %v", i, out[i], want)
		}
	}
	ref.GLU(out, gate, up, 5, SiLU)
	for i, g := range gate {
		want := float64(g) / (1 + math.Exp(-float64(g))) * float64(up[i])
		if math.Abs(float64(out[i])-want) > 1e-6 {
			t.Fatalf("silu %d: %v, want %v", i, out[i], want)
		}
	}
}

func TestNewMatrixRejectsBadGeometry(t *testing.T) {
	cases := []struct {
		typ        quant.Type
		rows, cols int
		bytes      int
	}{
		{quant.F32, 2, 3, 20},     // wrong size
		{quant.Q8_0, 2, 33, 100},  // row not a block multiple
		{quant.I2_S, 2, 64, 64},   // I2_S rows must be 128-multiples
		{quant.Q4_K, 1, 256, 144}, // no kernel
		{quant.F32, 0, 4, 0},      // empty
	}
	for _, c := range cases {
		if _, err := NewMatrix("w", c.typ, c.rows, c.cols, make([]byte, c.bytes), 1); err == nil {
			t.Errorf("%v %dx%d with %d bytes accepted", c.typ, c.rows, c.cols, c.bytes)
		}
	}
}
