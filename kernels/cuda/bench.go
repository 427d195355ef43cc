package cuda

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"unsafe"
)

// Kernel benchmarks (the program kernels/cuda/cmd/gpubench prints them).
// Every figure is device time per call from replaying a CUDA graph of many
// calls (so launch overhead is what a captured decode step pays), timed
// with events; reported as median, min and max over several replays.
// Inputs are random (never zeros).

// Timing is a benchmark figure in microseconds per call.
type Timing struct {
	Median, Min, Max float64
}

func (t Timing) String() string {
	return fmt.Sprintf("%8.2f us (min %.2f, max %.2f)", t.Median, t.Min, t.Max)
}

// Bench holds a context, the kernels and a stream for benchmarks.
type Bench struct {
	ctx  *Context
	mod  *Module
	k    *kernelSet
	st   *Stream
	bufs []Buffer
	r    *rand.Rand
}

// NewBench opens CUDA device index for benchmarks.
func NewBench(index int) (*Bench, error) {
	ctx, err := NewContext(index)
	if err != nil {
		return nil, err
	}
	b := &Bench{ctx: ctx, r: rand.New(rand.NewPCG(42, 43))}
	if b.mod, b.k, err = loadKernels(ctx); err == nil {
		b.st, err = ctx.NewStream()
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// Info describes the device.
func (b *Bench) Info() DeviceInfo { return b.ctx.Info() }

// Close frees everything.
func (b *Bench) Close() error {
	var errList []error
	for _, x := range b.bufs {
		errList = append(errList, b.ctx.Free(x))
	}
	b.bufs = nil
	if b.st != nil {
		errList = append(errList, b.st.Close())
	}
	if b.mod != nil {
		errList = append(errList, b.mod.Close())
	}
	errList = append(errList, b.ctx.Close())
	return errors.Join(errList...)
}

// free releases the buffers allocated since mark.
func (b *Bench) free(mark int) {
	for _, x := range b.bufs[mark:] {
		_ = b.ctx.Free(x)
	}
	b.bufs = b.bufs[:mark]
}

// randomBuffer allocates bytes of random device memory.
func (b *Bench) randomBuffer(bytes int, fill func([]byte)) (Buffer, error) {
	buf, err := b.ctx.Alloc(int64(bytes))
	if err != nil {
		return Buffer{}, err
	}
	b.bufs = append(b.bufs, buf)
	host := make([]byte, bytes)
	fill(host)
	return buf, b.ctx.UploadBytes(buf, host)
}

// randomCodes fills ternary codes (0..2 in every 2-bit field).
func (b *Bench) randomCodes(p []byte) {
	for i := range p {
		var v byte
		for k := 0; k < 4; k++ {
			v |= byte(b.r.IntN(3)) << (2 * k)
		}
		p[i] = v
	}
}

func (b *Bench) randomBytes(p []byte) {
	for i := range p {
		p[i] = byte(b.r.Uint32())
	}
}

// randomFloats fills float32 values (standard normal times sd).
func (b *Bench) randomFloats(sd float64) func([]byte) {
	return func(p []byte) {
		f := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(p))), len(p)/4)
		for i := range f {
			f[i] = float32(b.r.NormFloat64() * sd)
		}
	}
}

// timeGraph captures calls launches (launch(i) queues call i), replays the
// graph reps times and returns the device time per call.
func (b *Bench) timeGraph(calls, reps int, launch func(i int) error) (Timing, error) {
	if err := b.st.BeginCapture(); err != nil {
		return Timing{}, err
	}
	var lerr error
	for i := 0; i < calls && lerr == nil; i++ {
		lerr = launch(i)
	}
	g, err := b.st.EndCapture()
	if err = errors.Join(lerr, err); err != nil {
		if g != nil {
			_ = g.Close()
		}
		return Timing{}, err
	}
	defer g.Close()
	e0, err := b.ctx.NewEvent()
	if err != nil {
		return Timing{}, err
	}
	defer e0.Close()
	e1, err := b.ctx.NewEvent()
	if err != nil {
		return Timing{}, err
	}
	defer e1.Close()
	if err := g.Launch(b.st); err != nil { // warm-up
		return Timing{}, err
	}
	var us []float64
	for r := 0; r < reps; r++ {
		if err := errors.Join(e0.Record(b.st), g.Launch(b.st), e1.Record(b.st), e1.Sync()); err != nil {
			return Timing{}, err
		}
		ms, err := ElapsedMS(e0, e1)
		if err != nil {
			return Timing{}, err
		}
		us = append(us, float64(ms)*1000/float64(calls))
	}
	return summarize(us), nil
}

func summarize(us []float64) Timing {
	s := slices.Clone(us)
	slices.Sort(s)
	return Timing{Median: s[len(s)/2], Min: s[0], Max: s[len(s)-1]}
}

// copiesFor is how many copies of bytes bytes exceed 4x the L2 cache (at
// least 1), so that rotating through them streams from memory.
func (b *Bench) copiesFor(bytes int) int {
	l2 := b.Info().L2CacheBytes
	if l2 <= 0 {
		l2 = 64 << 20
	}
	return max(1, min(256, ceilDivInt(4*l2, bytes)))
}

// TernaryGEMV times the decode step's ternary product (tern_mv, one
// token) of a random rows x cols matrix: hot (the same weights every
// call, as from the L2 cache for small matrices) and cold (copies rotated
// so each call streams its weights from memory). It returns the weight
// bytes of one call too.
func (b *Bench) TernaryGEMV(rows, cols int) (hot, cold Timing, bytes int, err error) {
	mark := len(b.bufs)
	defer b.free(mark)
	bytes = ternaryLayoutBytes(rows, cols)
	copies := b.copiesFor(bytes)
	ws := make([]Buffer, copies)
	for i := range ws {
		if ws[i], err = b.randomBuffer(bytes, b.randomCodes); err != nil {
			return
		}
	}
	q, err := b.randomBuffer(cols+qSlack, b.randomBytes)
	if err != nil {
		return
	}
	s, err := b.randomBuffer(4, func(p []byte) { *(*float32)(unsafe.Pointer(&p[0])) = 12.5 })
	if err != nil {
		return
	}
	qsum, err := b.randomBuffer(4, b.randomBytes)
	if err != nil {
		return
	}
	out, err := b.randomBuffer(4*rows, b.randomBytes)
	if err != nil {
		return
	}
	g, bl := ternLaunch(rows, cols, 1, false)
	call := func(w Buffer) error {
		return b.st.Launch(b.k.TernMV, g, bl, 0, w, q, s, qsum, out, i32(rows), i32(cols), i32(rows), i32(rows),
			float32(0.5), float32(0.5), float32(0.5), int32(0))
	}
	if hot, err = b.timeGraph(100, 20, func(int) error { return call(ws[0]) }); err != nil {
		return
	}
	calls := max(100, copies)
	cold, err = b.timeGraph(calls, 20, func(i int) error { return call(ws[i%copies]) })
	return
}

// TernaryGEMM times the prefill product (tern_mm) of n tokens.
func (b *Bench) TernaryGEMM(rows, cols, n int) (Timing, error) {
	mark := len(b.bufs)
	defer b.free(mark)
	w, err := b.randomBuffer(ternaryLayoutBytes(rows, cols), b.randomCodes)
	if err != nil {
		return Timing{}, err
	}
	q, err := b.randomBuffer(n*cols+qSlack, b.randomBytes)
	if err != nil {
		return Timing{}, err
	}
	s, err := b.randomBuffer(4*n, b.randomFloats(1))
	if err != nil {
		return Timing{}, err
	}
	qsum, err := b.randomBuffer(4*n, b.randomBytes)
	if err != nil {
		return Timing{}, err
	}
	out, err := b.randomBuffer(4*n*rows, b.randomBytes)
	if err != nil {
		return Timing{}, err
	}
	g, bl := ternLaunch(rows, cols, n, true)
	return b.timeGraph(20, 10, func(int) error {
		return b.st.Launch(b.k.TernMM, g, bl, 0, w, q, s, qsum, out, i32(rows), i32(cols), i32(n), float32(0.5), int32(0))
	})
}

// HeadF16 times the F16 output head (matmul_f16, one token), cold: a copy
// rotation beyond the L2 cache.
func (b *Bench) HeadF16(rows, cols int) (Timing, int, error) {
	mark := len(b.bufs)
	defer b.free(mark)
	bytes := 2 * rows * cols
	copies := b.copiesFor(bytes)
	ws := make([]Buffer, copies)
	for i := range ws {
		var err error
		if ws[i], err = b.randomBuffer(bytes, b.randomBytes); err != nil {
			return Timing{}, 0, err
		}
	}
	x, err := b.randomBuffer(4*cols, b.randomFloats(1))
	if err != nil {
		return Timing{}, 0, err
	}
	out, err := b.randomBuffer(4*rows, b.randomBytes)
	if err != nil {
		return Timing{}, 0, err
	}
	g, bl := fmmLaunch(rows, 1)
	t, err := b.timeGraph(max(10, copies), 10, func(i int) error {
		return b.st.Launch(b.k.MatMulF16, g, bl, 0, ws[i%copies], x, out, i32(rows), i32(cols), int32(1), float32(1))
	})
	return t, bytes, err
}

// Bandwidth measures the device memory bandwidth over a buffer of bytes
// (a multiple of 16): a read-only pass and a device-to-device copy (GB/s
// of bytes moved: read, and read plus write).
func (b *Bench) Bandwidth(bytes int64) (read, copyGBs float64, err error) {
	mark := len(b.bufs)
	defer b.free(mark)
	src, err := b.ctx.Alloc(bytes)
	if err != nil {
		return 0, 0, err
	}
	b.bufs = append(b.bufs, src)
	dst, err := b.ctx.Alloc(bytes)
	if err != nil {
		return 0, 0, err
	}
	b.bufs = append(b.bufs, dst)
	flag, err := b.ctx.Alloc(16)
	if err != nil {
		return 0, 0, err
	}
	b.bufs = append(b.bufs, flag)
	if err := errors.Join(b.ctx.Memset(src, 0x5a), b.ctx.Memset(dst, 0)); err != nil {
		return 0, 0, err
	}
	n := bytes / 16
	g, bl := b.Info().GridStride(int(min(n, 1<<30)))
	g[0] = min(g[0], uint32(b.Info().Multiprocessors*8))
	tr, err := b.timeGraph(5, 10, func(int) error {
		return b.st.Launch(b.k.BandwidthRead, g, bl, 0, src, n, uint32(1), flag)
	})
	if err != nil {
		return 0, 0, err
	}
	tc, err := b.timeGraph(5, 10, func(int) error {
		return b.st.Launch(b.k.BandwidthCopy, g, bl, 0, src, dst, n)
	})
	if err != nil {
		return 0, 0, err
	}
	return float64(bytes) / tr.Median / 1e3, 2 * float64(bytes) / tc.Median / 1e3, nil
}

// StepKernels times the other kernels of a decode step at the 2B-4T shape
// (dim, ffn, heads, kv heads, head dim, vocab) with pos cached positions.
func (b *Bench) StepKernels(dim, ffn, heads, kvHeads, headDim, vocab, pos int) (map[string]Timing, error) {
	mark := len(b.bufs)
	defer b.free(mark)
	res := map[string]Timing{}
	var ferr error
	fl := func(n int) Buffer {
		buf, err := b.randomBuffer(4*n, b.randomFloats(1))
		if ferr == nil {
			ferr = err
		}
		return buf
	}
	x, w, out := fl(ffn), fl(ffn), fl(2*ffn)
	s, qsum := fl(1), fl(1)
	q8, err := b.randomBuffer(ffn+qSlack, b.randomBytes)
	if err = errors.Join(ferr, err); err != nil {
		return nil, err
	}
	one := [3]uint32{1, 1, 1}
	for _, n := range []int{dim, ffn} {
		for _, fast := range []int32{1, 0} {
			t, err := b.timeGraph(100, 10, func(int) error {
				return b.st.Launch(b.k.RMSNormQuant, one, [3]uint32{normThreads, 1, 1}, 0, x, w, out, q8, s, qsum, int32(1), i32(n), float32(1e-5), fast)
			})
			if err != nil {
				return nil, err
			}
			how := "warp sum"
			if fast == 0 {
				how = "one-thread sum"
			}
			res[fmt.Sprintf("rmsnorm_quant %d (%s)", n, how)] = t
		}
	}
	g, bl := b.Info().GridStride(ffn)
	t, err := b.timeGraph(100, 10, func(int) error {
		return b.st.Launch(b.k.GLU, g, bl, 0, x, w, out, i32(ffn), int32(1))
	})
	if err != nil {
		return nil, err
	}
	res[fmt.Sprintf("glu %d", ffn)] = t
	kv := kvHeads * headDim
	ctx := pos + 1
	kc, vc, scratch, qv := fl(ctx*kv), fl(ctx*kv), fl(heads*ctx), fl(heads*headDim)
	cos, sin, kk, vv := fl(ctx*headDim/2), fl(ctx*headDim/2), fl(kv), fl(kv)
	logits, hist := fl(vocab), fl(1<<20)
	posb, err := b.randomBuffer(4, func(p []byte) { *(*int32)(unsafe.Pointer(&p[0])) = int32(pos) })
	if err = errors.Join(ferr, err); err != nil {
		return nil, err
	}
	ctl, err := b.randomBuffer(8, func(p []byte) { clear(p) })
	if err != nil {
		return nil, err
	}
	t, err = b.timeGraph(100, 10, func(int) error {
		return b.st.Launch(b.k.AttendStep, [3]uint32{uint32(heads), 1, 1}, [3]uint32{attendThreads, 1, 1}, 0,
			qv, kc, vc, out, i32(heads), i32(kvHeads), i32(headDim), float32(0.088), i32(headDim/2), scratch, i32(ctx), posb)
	})
	if err != nil {
		return nil, err
	}
	res[fmt.Sprintf("attend_step pos %d", pos)] = t
	g, bl = b.Info().GridStride((heads+kvHeads)*headDim/2 + kv)
	t, err = b.timeGraph(100, 10, func(int) error {
		return b.st.Launch(b.k.RopeKVStep, g, bl, 0, qv, kk, vv, cos, sin, kc, vc, i32(heads), i32(kvHeads), i32(headDim),
			i32(headDim), int32(1), posb)
	})
	if err != nil {
		return nil, err
	}
	res["rope_kv_step"] = t
	t, err = b.timeGraph(100, 10, func(int) error {
		return b.st.Launch(b.k.ArgmaxStep, one, [3]uint32{argmaxThreads, 1, 1}, 0, logits, i32(vocab), ctl,
			Buffer{Ptr: ctl.Ptr + 4, Size: 4}, hist, int32(1<<20))
	})
	if err != nil {
		return nil, err
	}
	res[fmt.Sprintf("argmax_step %d", vocab)] = t
	return res, nil
}
