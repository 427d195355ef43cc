//go:build gpu

// GPU checks of the kernels (kernels.cu) against the CPU Reference, on a
// machine with a CUDA device (scripts/gpu_check.sh runs them): the integer
// and exact float kernels must give the Reference's bits, the float matrix
// products agree within 1e-3 of the magnitude of their terms.

package cuda

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/quant"
)

// kp is the harness of the kernel parity tests: a context with the
// kernels, a stream, and the Reference backend.
type kp struct {
	t    *testing.T
	ctx  *Context
	k    *kernelSet
	st   *Stream
	info DeviceInfo
	ref  *kernels.Reference
	bufs []Buffer
	r    *rand.Rand
}

func newKP(t *testing.T) *kp {
	ctx, err := NewContext(0)
	if err != nil {
		t.Fatalf("CUDA device 0: %v", err)
	}
	mod, k, err := loadKernels(ctx)
	if err != nil {
		ctx.Close()
		t.Fatal(err)
	}
	st, err := ctx.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	pool := kernels.NewPool(4)
	h := &kp{t: t, ctx: ctx, k: k, st: st, info: ctx.Info(), ref: kernels.NewReference(pool), r: rand.New(rand.NewPCG(11, 12))}
	t.Cleanup(func() {
		for _, b := range h.bufs {
			ctx.Free(b)
		}
		st.Close()
		mod.Close()
		ctx.Close()
		pool.Close()
	})
	return h
}

func (h *kp) alloc(bytes int) Buffer {
	h.t.Helper()
	b, err := h.ctx.Alloc(int64(max(bytes, 4)))
	if err != nil {
		h.t.Fatal(err)
	}
	h.bufs = append(h.bufs, b)
	if err := h.ctx.Memset(b, 0); err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *kp) upload(p unsafe.Pointer, bytes, extra int) Buffer {
	h.t.Helper()
	b := h.alloc(bytes + extra)
	if bytes > 0 {
		if err := h.ctx.Upload(b, 0, p, int64(bytes)); err != nil {
			h.t.Fatal(err)
		}
	}
	return b
}

func (h *kp) f32(v []float32) Buffer {
	return h.upload(unsafe.Pointer(unsafe.SliceData(v)), 4*len(v), 0)
}
func (h *kp) i32s(v []int32) Buffer {
	return h.upload(unsafe.Pointer(unsafe.SliceData(v)), 4*len(v), 0)
}
func (h *kp) i8s(v []int8) Buffer {
	return h.upload(unsafe.Pointer(unsafe.SliceData(v)), len(v), qSlack)
}
func (h *kp) raw(v []byte) Buffer { return h.upload(unsafe.Pointer(unsafe.SliceData(v)), len(v), 0) }

// run launches f and waits for it, failing the test on any error.
func (h *kp) run(f *Function, grid, block [3]uint32, args ...any) {
	h.t.Helper()
	if err := h.st.Launch(f, grid, block, 0, args...); err != nil {
		h.t.Fatal(err)
	}
	if err := h.st.Sync(); err != nil {
		h.t.Fatalf("%s: %v", f.Name(), err)
	}
}

func (h *kp) getF32(b Buffer, n int) []float32 {
	h.t.Helper()
	v := make([]float32, n)
	if err := h.ctx.DownloadFloat32(v, b); err != nil {
		h.t.Fatal(err)
	}
	return v
}

func (h *kp) getI32(b Buffer, n int) []int32 {
	h.t.Helper()
	v := make([]int32, n)
	if err := h.ctx.DownloadInt32(v, b); err != nil {
		h.t.Fatal(err)
	}
	return v
}

func (h *kp) getI8(b Buffer, n int) []int8 {
	h.t.Helper()
	v := make([]int8, n)
	if err := h.ctx.DownloadInt8(v, b); err != nil {
		h.t.Fatal(err)
	}
	return v
}

func (h *kp) normals(n int, sd float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(h.r.NormFloat64() * sd)
	}
	return v
}

// kpExact fails unless got and want have the same bits (any NaN matches
// any NaN).
func kpExact(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("%s: element %d of %d is %v (%08x), Reference gives %v (%08x)", what, i, len(want), g, math.Float32bits(g), w, math.Float32bits(w))
		}
	}
}

func TestGPUKernelsMatchReference(t *testing.T) {
	h := newKP(t)
	t.Logf("device: %s, compute %d.%d, %d SMs", h.info.Name, h.info.ComputeMajor, h.info.ComputeMinor, h.info.Multiprocessors)
	t.Run("Embedding", h.embedding)
	t.Run("RMSNorm", h.rmsnorm)
	t.Run("QuantizeRows", h.quantizeRows)
	t.Run("RMSNormQuant", h.rmsnormQuant)
	t.Run("RMSNormFastSum", h.fastNorm)
	t.Run("Ternary", h.ternary)
	t.Run("TernaryFusedAccumulate", h.ternaryFused)
	t.Run("FloatMatMul", h.floatMatMul)
	t.Run("RopeAndKVStore", h.rope)
	t.Run("RopeKVStep", h.ropeKVStep)
	t.Run("Attend", h.attend)
	t.Run("GLU", h.glu)
	t.Run("Add", h.add)
	t.Run("Argmax", h.argmax)
}

func (h *kp) embedding(t *testing.T) {
	vocab, dim := 37, 96
	vals := h.normals(vocab*dim, 0.5)
	f16 := make([]byte, 2*len(vals))
	if err := quant.Quantize(quant.F16, vals, f16); err != nil {
		t.Fatal(err)
	}
	ids := []int32{5, 0, 36, 5, 17}
	want := make([]float32, len(ids)*dim)
	for i, id := range ids {
		quant.DequantizeRow(quant.F16, f16[int(id)*dim*2:(int(id)+1)*dim*2], want[i*dim:(i+1)*dim])
	}
	out := h.alloc(4 * len(want))
	g, b := h.info.GridStride(len(want))
	h.run(h.k.EmbedF16, g, b, h.raw(f16), h.i32s(ids), out, i32(len(ids)), i32(dim))
	kpExact(t, "embed_f16", h.getF32(out, len(want)), want)
	for i, id := range ids {
		copy(want[i*dim:], vals[int(id)*dim:(int(id)+1)*dim])
	}
	h.run(h.k.EmbedF32, g, b, h.f32(vals), h.i32s(ids), out, i32(len(ids)), i32(dim))
	kpExact(t, "embed_f32", h.getF32(out, len(want)), want)
}

func (h *kp) rmsnorm(t *testing.T) {
	for _, dim := range []int{64, 2560, 6913} {
		n := 3
		x, w := h.normals(n*dim, 2), h.normals(dim, 1)
		want := make([]float32, n*dim)
		h.ref.RMSNorm(want, x, w, n, dim, 1e-5)
		xb, out := h.f32(x), h.alloc(4*n*dim)
		h.run(h.k.RMSNorm, [3]uint32{uint32(n), 1, 1}, [3]uint32{normThreads, 1, 1}, xb, h.f32(w), out, i32(n), i32(dim), float32(1e-5))
		kpExact(t, "rmsnorm", h.getF32(out, n*dim), want)
		// In place (out aliases x), as the sub-norms run.
		h.run(h.k.RMSNorm, [3]uint32{uint32(n), 1, 1}, [3]uint32{normThreads, 1, 1}, xb, h.f32(w), xb, i32(n), i32(dim), float32(0))
		h.ref.RMSNorm(want, x, w, n, dim, 0)
		kpExact(t, "rmsnorm in place", h.getF32(xb, n*dim), want)
	}
}

// specialRows are activation rows with zeros, an infinity, a NaN and
// values at rounding ties.
func (h *kp) specialRows(cols int) [][]float32 {
	zero := make([]float32, cols)
	inf := h.normals(cols, 1)
	inf[3] = float32(math.Inf(1))
	nan := h.normals(cols, 1)
	nan[7] = float32(math.NaN())
	// With a largest magnitude of 127 the scale is 1: x*s are exact
	// halves, rounded to even.
	ties := make([]float32, cols)
	for i := range ties {
		ties[i] = float32(i%20) - 10 + 0.5
	}
	ties[0] = 127
	return [][]float32{h.normals(cols, 3), zero, inf, nan, ties}
}

func (h *kp) quantizeRows(t *testing.T) {
	cols := 2560
	rows := h.specialRows(cols)
	n := len(rows)
	x := make([]float32, 0, n*cols)
	for _, r := range rows {
		x = append(x, r...)
	}
	wantQ, wantS := make([]int8, n*cols), make([]float32, n)
	h.ref.QuantizeRows(wantQ, wantS, x, n, cols)
	q, s, qsum := h.alloc(n*cols), h.alloc(4*n), h.alloc(4*n)
	h.run(h.k.QuantizeRows, [3]uint32{uint32(n), 1, 1}, [3]uint32{normThreads, 1, 1}, h.f32(x), q, s, qsum, i32(n), i32(cols))
	gotQ := h.getI8(q, n*cols)
	for i := range wantQ {
		if gotQ[i] != wantQ[i] {
			t.Fatalf("code %d (row %d) is %d, Reference gives %d", i, i/cols, gotQ[i], wantQ[i])
		}
	}
	kpExact(t, "scales", h.getF32(s, n), wantS)
	sums := h.getI32(qsum, n)
	for r := 0; r < n; r++ {
		var sum int32
		for _, v := range wantQ[r*cols : (r+1)*cols] {
			sum += int32(v)
		}
		if sums[r] != sum {
			t.Fatalf("row %d: qsum %d, want %d", r, sums[r], sum)
		}
	}
}

func (h *kp) rmsnormQuant(t *testing.T) {
	for _, fast := range []int32{0, 1} {
		n, dim := 2, 6912
		x, w := h.normals(n*dim, 1), h.normals(dim, 1)
		wantOut := make([]float32, n*dim)
		h.ref.RMSNorm(wantOut, x, w, n, dim, 1e-6)
		wantQ, wantS := make([]int8, n*dim), make([]float32, n)
		h.ref.QuantizeRows(wantQ, wantS, wantOut, n, dim)
		xb, q, s, qsum := h.f32(x), h.alloc(n*dim), h.alloc(4*n), h.alloc(4*n)
		h.run(h.k.RMSNormQuant, [3]uint32{uint32(n), 1, 1}, [3]uint32{normThreads, 1, 1}, xb, h.f32(w), xb, q, s, qsum,
			i32(n), i32(dim), float32(1e-6), fast)
		kpExact(t, "rmsnorm_quant out", h.getF32(xb, n*dim), wantOut)
		kpExact(t, "rmsnorm_quant scales", h.getF32(s, n), wantS)
		got := h.getI8(q, n*dim)
		for i := range wantQ {
			if got[i] != wantQ[i] {
				t.Fatalf("fast=%d: code %d is %d, want %d", fast, i, got[i], wantQ[i])
			}
		}
	}
}

// fastNorm checks rmsnorm_quant's warp-parallel sum of squares (without
// quantization) on many rows, with ties, zeros and extreme values.
func (h *kp) fastNorm(t *testing.T) {
	for _, dim := range []int{1, 33, 256, 2560, 6912, 6913} {
		rows := 64
		x := make([]float32, rows*dim)
		for i := range x {
			switch (i / dim) % 6 {
			case 0:
				x[i] = float32(h.r.NormFloat64())
			case 1:
				x[i] = float32(h.r.IntN(7) - 3)
			case 2:
				x[i] = float32(h.r.IntN(200)-100) / 2
			case 3:
				x[i] = float32(h.r.NormFloat64() * math.Exp(3*h.r.NormFloat64()))
			case 4:
				if h.r.IntN(10) == 0 {
					x[i] = float32(h.r.NormFloat64())
				}
			case 5:
				x[i] = float32(math.Ldexp(1, h.r.IntN(20)-10))
			}
		}
		x[5*dim/2] = float32(math.Inf(1))
		w := h.normals(dim, 1)
		want := make([]float32, len(x))
		h.ref.RMSNorm(want, x, w, rows, dim, 1e-5)
		out := h.alloc(4 * len(x))
		h.run(h.k.RMSNormQuant, [3]uint32{uint32(rows), 1, 1}, [3]uint32{normThreads, 1, 1}, h.f32(x), h.f32(w), out,
			uint64(0), uint64(0), uint64(0), i32(rows), i32(dim), float32(1e-5), int32(1))
		kpExact(t, "fast rmsnorm", h.getF32(out, len(x)), want)
	}
}

// i2s returns a random ternary matrix as an I2_S tensor (with its tail),
// the Reference's matrix and the GPU layout with its scale.
func (h *kp) i2s(t *testing.T, rows, cols int) (*kernels.Matrix, Buffer, float32) {
	codes := make([]int8, rows*cols)
	for i := range codes {
		codes[i] = int8(h.r.IntN(3)) - 1
	}
	data := make([]byte, rows*cols/4+quant.I2STail)
	if err := quant.PackI2S(codes, float32(0.5+h.r.Float64()), data); err != nil {
		t.Fatal(err)
	}
	w, err := kernels.NewMatrix("w", quant.I2_S, rows, cols, data, 1.25)
	if err != nil {
		t.Fatal(err)
	}
	layout, scale, err := repackTernary(quant.I2_S, rows, cols, data, 1.25)
	if err != nil {
		t.Fatal(err)
	}
	return w, h.raw(layout), scale
}

// activations quantizes n random rows on the host (the GPU's quantizer is
// checked separately) and uploads q (with the slack), s and qsum.
func (h *kp) activations(n, cols int) ([]int8, []float32, Buffer, Buffer, Buffer) {
	x := h.normals(n*cols, 1)
	q, s := make([]int8, n*cols), make([]float32, n)
	sums := make([]int32, n)
	for t := 0; t < n; t++ {
		s[t], sums[t] = quant.QuantizeActivations(x[t*cols:(t+1)*cols], q[t*cols:(t+1)*cols])
	}
	return q, s, h.i8s(q), h.f32(s), h.i32s(sums)
}

func (h *kp) ternary(t *testing.T) {
	for _, sh := range [][2]int{{2560, 2560}, {640, 2560}, {2560, 6912}, {13, 384}, {8, 128}} {
		rows, cols := sh[0], sh[1]
		w, wb, scale := h.i2s(t, rows, cols)
		for _, n := range []int{1, 5, 17} {
			q, s, qb, sb, sumb := h.activations(n, cols)
			want := make([]float32, n*rows)
			h.ref.MatMulI8(want, w, q, s, n)
			out := h.alloc(4 * n * rows)
			if n == 1 {
				g, b := ternLaunch(rows, cols, 1, false)
				h.run(h.k.TernGEMV, g, b, wb, qb, sb, sumb, out, i32(rows), i32(cols), scale)
				kpExact(t, "tern_gemv", h.getF32(out, rows), want)
				h.run(h.k.TernMV, g, b, wb, qb, sb, sumb, out, i32(rows), i32(cols), i32(rows), i32(rows), scale, scale, scale, int32(0))
				kpExact(t, "tern_mv", h.getF32(out, rows), want)
			}
			g, b := ternLaunch(rows, cols, n, true)
			h.run(h.k.TernGEMM, g, b, wb, qb, sb, sumb, out, i32(rows), i32(cols), scale, i32(n))
			kpExact(t, "tern_gemm", h.getF32(out, n*rows), want)
			h.run(h.k.TernMM, g, b, wb, qb, sb, sumb, out, i32(rows), i32(cols), i32(n), scale, int32(0))
			kpExact(t, "tern_mm", h.getF32(out, n*rows), want)
		}
	}
}

// ternaryFused checks tern_mv over three stacked matrices (the fused
// QKV of the decode step) and the accumulate of tern_mv / tern_mm.
func (h *kp) ternaryFused(t *testing.T) {
	cols := 2560
	shapes := []int{2560, 640, 640}
	var ws []*kernels.Matrix
	var layouts [][]byte
	var scales [3]float32
	for i, rows := range shapes {
		codes := make([]int8, rows*cols)
		for j := range codes {
			codes[j] = int8(h.r.IntN(3)) - 1
		}
		data := make([]byte, rows*cols/4+quant.I2STail)
		quant.PackI2S(codes, float32(0.5+h.r.Float64()), data)
		w, _ := kernels.NewMatrix("w", quant.I2_S, rows, cols, data, 1)
		layout, sc, err := repackTernary(quant.I2_S, rows, cols, data, 1)
		if err != nil {
			t.Fatal(err)
		}
		ws, layouts, scales[i] = append(ws, w), append(layouts, layout), sc
	}
	var all []byte
	for _, l := range layouts {
		all = append(all, l...)
	}
	q, s, qb, sb, sumb := h.activations(1, cols)
	var want []float32
	for _, w := range ws {
		part := make([]float32, w.Rows)
		h.ref.MatMulI8(part, w, q, s, 1)
		want = append(want, part...)
	}
	rows := len(want)
	out := h.alloc(4 * rows)
	g, b := ternLaunch(rows, cols, 1, false)
	h.run(h.k.TernMV, g, b, h.raw(all), qb, sb, sumb, out, i32(rows), i32(cols), i32(shapes[0]), i32(shapes[0]+shapes[1]),
		scales[0], scales[1], scales[2], int32(0))
	kpExact(t, "fused tern_mv", h.getF32(out, rows), want)

	// Accumulate: out = y0 + W q, as the residual adds.
	w := ws[0]
	y0 := h.normals(w.Rows, 1)
	part := make([]float32, w.Rows)
	h.ref.MatMulI8(part, w, q, s, 1)
	for i := range part {
		part[i] = y0[i] + part[i]
	}
	yb := h.f32(y0)
	g, b = ternLaunch(w.Rows, cols, 1, false)
	h.run(h.k.TernMV, g, b, h.raw(layouts[0]), qb, sb, sumb, yb, i32(w.Rows), i32(cols), i32(w.Rows), i32(w.Rows), scales[0], scales[0], scales[0], int32(1))
	kpExact(t, "tern_mv accumulate", h.getF32(yb, w.Rows), part)
	yb = h.f32(y0)
	g, b = ternLaunch(w.Rows, cols, 1, true)
	h.run(h.k.TernMM, g, b, h.raw(layouts[0]), qb, sb, sumb, yb, i32(w.Rows), i32(cols), int32(1), scales[0], int32(1))
	kpExact(t, "tern_mm accumulate", h.getF32(yb, w.Rows), part)
}

func (h *kp) floatMatMul(t *testing.T) {
	for _, sh := range [][2]int{{1000, 2560}, {37, 67}, {64, 64}, {130, 96}} {
		rows, cols := sh[0], sh[1]
		vals := h.normals(rows*cols, 0.1)
		for _, typ := range []quant.Type{quant.F32, quant.F16, quant.Q8_0} {
			if typ == quant.Q8_0 && cols%32 != 0 {
				continue
			}
			rb, _ := quant.RowBytes(typ, uint64(cols))
			data := make([]byte, int(rb)*rows)
			if err := quant.Quantize(typ, vals, data); err != nil {
				t.Fatal(err)
			}
			w, err := kernels.NewMatrix("w", typ, rows, cols, data, 0.75)
			if err != nil {
				t.Fatal(err)
			}
			dec := make([]float32, rows*cols)
			quant.Dequantize(typ, data, dec)
			gpu, f := data, h.k.MatMulF32
			switch typ {
			case quant.F16:
				f = h.k.MatMulF16
			case quant.Q8_0:
				f = h.k.MatMulQ8_0
				if gpu, err = repackQ8_0(rows, cols, data); err != nil {
					t.Fatal(err)
				}
			}
			wb := h.raw(gpu)
			for _, n := range []int{1, 6} {
				x := h.normals(n*cols, 1)
				want := make([]float32, n*rows)
				h.ref.MatMul(want, w, x, n)
				out := h.alloc(4 * n * rows)
				g, b := fmmLaunch(rows, n)
				h.run(f, g, b, wb, h.f32(x), out, i32(rows), i32(cols), i32(n), float32(0.75))
				got := h.getF32(out, n*rows)
				for i := range want {
					tt, r := i/rows, i%rows
					var mag float64
					for c := 0; c < cols; c++ {
						mag += math.Abs(float64(dec[r*cols+c]) * float64(x[tt*cols+c]))
					}
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-3*0.75*mag+1e-30 {
						t.Fatalf("%v %dx%d n=%d: output %d is %v, Reference %v (terms %g)", typ, rows, cols, n, i, got[i], want[i], mag)
					}
				}
			}
		}
	}
}

func (h *kp) rope(t *testing.T) {
	for _, mode := range []kernels.RopeMode{kernels.RopeAdjacent, kernels.RopeHalf} {
		n, heads, hd, rot, start := 3, 4, 64, 48, 5
		rt := kernels.NewRopeTable(10000, rot, mode)
		ctx := start + n
		cos, sin := make([]float32, ctx*rot/2), make([]float32, ctx*rot/2)
		for p := 0; p < ctx; p++ {
			rt.At(p, cos[p*rot/2:(p+1)*rot/2], sin[p*rot/2:(p+1)*rot/2])
		}
		x := h.normals(n*heads*hd, 1)
		want := append([]float32(nil), x...)
		h.ref.Rope(want, n, heads, hd, start, rt)
		xb := h.f32(x)
		g, b := h.info.GridStride(n * heads * rot / 2)
		h.run(h.k.Rope, g, b, xb, h.f32(cos), h.f32(sin), i32(n), i32(heads), i32(hd), i32(rot), i32(start), b2i(mode == kernels.RopeHalf))
		kpExact(t, "rope", h.getF32(xb, len(x)), want)

		kv := heads * hd
		k, v := h.normals(n*kv, 1), h.normals(n*kv, 1)
		kc, vc := h.alloc(4*ctx*kv), h.alloc(4*ctx*kv)
		g, b = h.info.GridStride(n * kv)
		h.run(h.k.KVStore, g, b, h.f32(k), h.f32(v), kc, vc, i32(n), i32(kv), i32(start))
		kpExact(t, "kv_store keys", h.getF32(kc, ctx*kv)[start*kv:], k)
		kpExact(t, "kv_store values", h.getF32(vc, ctx*kv)[start*kv:], v)
	}
}

func (h *kp) ropeKVStep(t *testing.T) {
	for _, mode := range []kernels.RopeMode{kernels.RopeAdjacent, kernels.RopeHalf} {
		heads, kvh, hd, rot, pos, ctx := 8, 2, 128, 96, 9, 16
		rt := kernels.NewRopeTable(500000, rot, mode)
		cos, sin := make([]float32, ctx*rot/2), make([]float32, ctx*rot/2)
		for p := 0; p < ctx; p++ {
			rt.At(p, cos[p*rot/2:(p+1)*rot/2], sin[p*rot/2:(p+1)*rot/2])
		}
		q, k, v := h.normals(heads*hd, 1), h.normals(kvh*hd, 1), h.normals(kvh*hd, 1)
		wantQ, wantK := append([]float32(nil), q...), append([]float32(nil), k...)
		h.ref.Rope(wantQ, 1, heads, hd, pos, rt)
		h.ref.Rope(wantK, 1, kvh, hd, pos, rt)
		qb, kb := h.f32(q), h.f32(k)
		kv := kvh * hd
		kc, vc := h.alloc(4*ctx*kv), h.alloc(4*ctx*kv)
		g, b := h.info.GridStride((heads+kvh)*rot/2 + kv)
		h.run(h.k.RopeKVStep, g, b, qb, kb, h.f32(v), h.f32(cos), h.f32(sin), kc, vc, i32(heads), i32(kvh), i32(hd), i32(rot),
			b2i(mode == kernels.RopeHalf), h.i32s([]int32{int32(pos)}))
		kpExact(t, "rope_kv_step q", h.getF32(qb, len(q)), wantQ)
		kpExact(t, "rope_kv_step k", h.getF32(kb, len(k)), wantK)
		kpExact(t, "rope_kv_step key cache", h.getF32(kc, ctx*kv)[pos*kv:(pos+1)*kv], wantK)
		kpExact(t, "rope_kv_step value cache", h.getF32(vc, ctx*kv)[pos*kv:(pos+1)*kv], v)
	}
}

func (h *kp) attend(t *testing.T) {
	for _, mode := range []kernels.RopeMode{kernels.RopeAdjacent, kernels.RopeHalf} {
		for _, rot := range []int{128, 64} {
			heads, kvh, hd, n, start := 8, 2, 128, 4, 300
			ctx := start + n
			rt := kernels.NewRopeTable(10000, rot, mode)
			shape := kernels.AttentionShape{Heads: heads, KVHeads: kvh, HeadDim: hd, Scale: float32(1 / math.Sqrt(float64(hd)))}
			kv := kvh * hd
			kcache, vcache := h.normals(ctx*kv, 1), h.normals(ctx*kv, 1)
			q := h.normals(n*heads*hd, 1)
			want := make([]float32, n*heads*hd)
			h.ref.Attend(want, q, kcache, vcache, n, start, shape, rt)
			halfp := 0
			if mode == kernels.RopeHalf {
				halfp = rot / 2
			}
			kc, vc := h.f32(kcache), h.f32(vcache)
			out := h.alloc(4 * len(want))
			scratch := h.alloc(4 * n * heads * ctx)
			h.run(h.k.Attend, [3]uint32{uint32(heads), uint32(n), 1}, [3]uint32{attendThreads, 1, 1},
				h.f32(q), kc, vc, out, i32(n), i32(start), i32(heads), i32(kvh), i32(hd), shape.Scale, i32(halfp), scratch)
			kpExact(t, "attend", h.getF32(out, len(want)), want)

			// The decode step's form: the last token, position in memory.
			last := q[(n-1)*heads*hd:]
			h.run(h.k.AttendStep, [3]uint32{uint32(heads), 1, 1}, [3]uint32{attendThreads, 1, 1},
				h.f32(last), kc, vc, out, i32(heads), i32(kvh), i32(hd), shape.Scale, i32(halfp), scratch, i32(ctx),
				h.i32s([]int32{int32(ctx - 1)}))
			kpExact(t, "attend_step", h.getF32(out, heads*hd), want[(n-1)*heads*hd:])
		}
	}
}

func (h *kp) glu(t *testing.T) {
	n := 6912
	g, u := h.normals(n, 3), h.normals(n, 1)
	g[0], g[1], g[2] = float32(math.NaN()), float32(math.Copysign(0, -1)), -100
	for _, act := range []kernels.Activation{kernels.SiLU, kernels.ReLUSquared} {
		want := make([]float32, n)
		h.ref.GLU(want, g, u, n, act)
		out := h.alloc(4 * n)
		gr, b := h.info.GridStride(n)
		h.run(h.k.GLU, gr, b, h.f32(g), h.f32(u), out, i32(n), b2i(act == kernels.ReLUSquared))
		kpExact(t, "glu", h.getF32(out, n), want)
	}
}

func (h *kp) add(t *testing.T) {
	n := 5000
	x, y := h.normals(n, 1), h.normals(n, 1)
	want := make([]float32, n)
	for i := range want {
		want[i] = x[i] + y[i]
	}
	xb := h.f32(x)
	g, b := h.info.GridStride(n)
	h.run(h.k.AddInplace, g, b, xb, h.f32(y), i32(n))
	kpExact(t, "add_inplace", h.getF32(xb, n), want)
}

func (h *kp) argmax(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	big := h.normals(128256, 1)
	big[77777] = 9
	big[100000] = 9 // a tie: the lower index wins
	negs := make([]float32, 3000)
	for i := range negs {
		negs[i] = float32(math.Inf(-1))
	}
	negs[5] = nan
	cases := []struct {
		x    []float32
		want int32
	}{
		{big, 77777},
		{[]float32{1, nan, 3, 3, 2}, 2},
		{[]float32{nan, -1, inf, inf}, 2},
		{negs, -1},
	}
	for i, c := range cases {
		out := h.alloc(4)
		h.run(h.k.Argmax, [3]uint32{1, 1, 1}, [3]uint32{argmaxThreads, 1, 1}, h.f32(c.x), i32(len(c.x)), out)
		if got := h.getI32(out, 1)[0]; got != c.want {
			t.Errorf("case %d: argmax %d, want %d", i, got, c.want)
		}
	}
	// argmax_step: hist[pos] and the next token, position advanced.
	ctl, hist := h.i32s([]int32{3, 11}), h.alloc(4*8)
	h.run(h.k.ArgmaxStep, [3]uint32{1, 1, 1}, [3]uint32{argmaxThreads, 1, 1}, h.f32(big), i32(len(big)), ctl,
		Buffer{Ptr: ctl.Ptr + 4, Size: 4}, hist, int32(8))
	if got := h.getI32(ctl, 2); got[0] != 4 || got[1] != 77777 {
		t.Errorf("argmax_step: position and token %v, want [4 77777]", got)
	}
	if got := h.getI32(hist, 8); got[3] != 77777 {
		t.Errorf("argmax_step: history %v", got)
	}
}
