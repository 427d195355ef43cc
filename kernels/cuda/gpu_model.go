package cuda

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"unsafe"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/quant"
)

// Model is a model's weights on one GPU, with the kernels to run it.
// Sessions (NewSession) hold the per-sequence state: KV cache, activations
// and the captured decode step. A Model is safe for concurrent use; each
// Session is used by one goroutine at a time.
type Model struct {
	ctx  *Context
	mod  *Module
	k    *kernelSet
	hp   hyper
	emb  embedding
	head linear
	// outNorm, cos and sin live in device memory; cos and sin are the
	// RoPE tables of every position of the context, [Context][RopeDims/2].
	outNorm, cos, sin Buffer
	blocks            []block
	allocs            []Buffer
	// fastNorm selects warp_sumsq for the norms' sums of squares; it is
	// off if the check at load (checkFastNorm) finds any difference from
	// the one-thread loop.
	fastNorm bool

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
}

// hyper is the shape of a model (ModelDesc without the tensors).
type hyper struct {
	dim, layers, heads, kvHeads, headDim, ffn, vocab, ropeDims, ctx int
	ropeHalf, relu2                                                 bool
	eps, outEps, attnScale                                          float32
}

func (h hyper) kvDim() int { return h.kvHeads * h.headDim }

// halfPairs is attend's half_mode: the number of rotate-half pairs, or 0
// for the plain order of the q.k sums.
func (h hyper) halfPairs() int {
	if h.ropeHalf {
		return h.ropeDims / 2
	}
	return 0
}

// linKind is how a linear layer's weights are stored on the GPU.
type linKind int

const (
	linTernary linKind = iota // GPU ternary layout, int8 activations
	linF32
	linF16
	linQ8_0 // codes then float scales (repackQ8_0)
)

// linear is a weight matrix on the GPU.
type linear struct {
	kind       linKind
	w          Buffer
	rows, cols int
	scale      float32
}

func (l *linear) ternary() bool { return l.kind == linTernary }

// fusedTern is up to three ternary matrices of the same input stacked by
// rows in one buffer, computed by one tern_mv launch in the decode step.
type fusedTern struct {
	w          Buffer
	rows, cols int
	seg1, seg2 int
	sc         [3]float32
}

func (f *fusedTern) ok() bool { return f.w.Ptr != 0 }

type block struct {
	attnNorm, attnSub, ffnNorm, ffnSub Buffer // Ptr 0: absent
	q, k, v, o, gate, up, down         linear
	qkv, gu                            fusedTern
}

// embedding is the token table: F16 (raw) or F32 rows.
type embedding struct {
	f16 bool
	w   Buffer
}

// NewModel uploads the model described by d to CUDA device index:
// ternary matrices repacked into the GPU layout, float matrices as F32,
// F16 or Q8_0 (other types decoded to F32), norms and the RoPE tables. The
// model owns its own Context of the device.
func NewModel(d *ModelDesc, index int) (*Model, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	ctx, err := NewContext(index)
	if err != nil {
		return nil, err
	}
	m := &Model{ctx: ctx, sessions: map[*Session]struct{}{}}
	if err := m.init(d); err != nil {
		m.release()
		return nil, err
	}
	return m, nil
}

func (m *Model) init(d *ModelDesc) error {
	var err error
	if m.mod, m.k, err = loadKernels(m.ctx); err != nil {
		return err
	}
	m.hp = hyper{dim: d.Dim, layers: d.Layers, heads: d.Heads, kvHeads: d.KVHeads, headDim: d.HeadDim, ffn: d.FFN,
		vocab: d.Vocab, ropeDims: d.RopeDims, ctx: d.Context, ropeHalf: d.RopeHalf, relu2: d.ReLU2, eps: d.Eps,
		outEps: d.OutputEps, attnScale: float32(1 / math.Sqrt(float64(d.HeadDim)))}
	if err := m.uploadEmbedding(d); err != nil {
		return err
	}
	if m.outNorm, err = m.uploadFloats(d.OutputNorm); err != nil {
		return err
	}
	if err := m.uploadRope(d); err != nil {
		return err
	}
	if m.fastNorm, err = m.checkFastNorm(d.Dim, d.FFN); err != nil {
		return err
	}
	m.blocks = make([]block, d.Layers)
	for i := range d.Blocks {
		if err := m.uploadBlock(&m.blocks[i], &d.Blocks[i]); err != nil {
			return fmt.Errorf("GPU model: block %d: %w", i, err)
		}
	}
	return nil
}

// alloc allocates device memory owned by the model.
func (m *Model) alloc(bytes int) (Buffer, error) {
	b, err := m.ctx.Alloc(int64(bytes))
	if err != nil {
		return Buffer{}, err
	}
	m.allocs = append(m.allocs, b)
	return b, nil
}

// uploadBytes copies data into new model memory.
func (m *Model) uploadBytes(data []byte) (Buffer, error) {
	b, err := m.alloc(max(len(data), 1))
	if err != nil {
		return Buffer{}, err
	}
	return b, m.ctx.UploadBytes(b, data)
}

func (m *Model) uploadFloats(v []float32) (Buffer, error) {
	if len(v) == 0 {
		return Buffer{}, nil
	}
	b, err := m.alloc(4 * len(v))
	if err != nil {
		return Buffer{}, err
	}
	return b, m.ctx.UploadFloat32(b, v)
}

func (m *Model) uploadRope(d *ModelDesc) error {
	mode := kernels.RopeAdjacent
	if d.RopeHalf {
		mode = kernels.RopeHalf
	}
	rt := kernels.NewRopeTable(d.RopeBase, d.RopeDims, mode)
	half := d.RopeDims / 2
	cos, sin := make([]float32, d.Context*half), make([]float32, d.Context*half)
	for p := 0; p < d.Context; p++ {
		rt.At(p, cos[p*half:(p+1)*half], sin[p*half:(p+1)*half])
	}
	var err error
	if m.cos, err = m.uploadFloats(cos); err != nil {
		return err
	}
	m.sin, err = m.uploadFloats(sin)
	return err
}

// uploadEmbedding uploads the token table (F16 or F32 as stored when its
// scale is 1, else decoded and scaled to F32 as the CPU engine's lookup
// does) and the output head (sharing the table when tied and stored raw).
func (m *Model) uploadEmbedding(d *ModelDesc) error {
	e := d.Embedding
	var err error
	switch {
	case e.Type == quant.F16 && e.Scale == 1:
		m.emb.f16 = true
		m.emb.w, err = m.uploadBytes(e.Data)
	case e.Type == quant.F32 && e.Scale == 1:
		m.emb.w, err = m.uploadBytes(e.Data)
	default:
		var b []byte
		if b, err = float32Bytes(e.Type, e.Rows, e.Cols, e.Data, e.Scale); err != nil {
			return fmt.Errorf("GPU model: token embedding: %w", err)
		}
		m.emb.w, err = m.uploadBytes(b)
	}
	if err != nil {
		return err
	}
	if d.OutputTied && e.Scale == 1 && (e.Type == quant.F16 || e.Type == quant.F32) {
		m.head = linear{kind: linF32, w: m.emb.w, rows: e.Rows, cols: e.Cols, scale: 1}
		if e.Type == quant.F16 {
			m.head.kind = linF16
		}
		return nil
	}
	m.head, err = m.uploadLinear(d.Output)
	if err != nil {
		return fmt.Errorf("GPU model: output: %w", err)
	}
	return nil
}

// uploadLinear uploads one weight matrix in the form its kernel reads.
func (m *Model) uploadLinear(t Tensor) (linear, error) {
	l := linear{rows: t.Rows, cols: t.Cols, scale: t.Scale}
	var data []byte
	var err error
	switch {
	case kernels.IsTernary(t.Type):
		l.kind = linTernary
		data, l.scale, err = repackTernary(t.Type, t.Rows, t.Cols, t.Data, t.Scale)
	case t.Type == quant.F32:
		l.kind, data = linF32, t.Data
	case t.Type == quant.F16:
		l.kind, data = linF16, t.Data
	case t.Type == quant.Q8_0:
		l.kind = linQ8_0
		data, err = repackQ8_0(t.Rows, t.Cols, t.Data)
	default:
		l.kind = linF32
		data, err = float32Bytes(t.Type, t.Rows, t.Cols, t.Data, 1)
	}
	if err != nil {
		return linear{}, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	if l.w, err = m.uploadBytes(data); err != nil {
		return linear{}, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	return l, nil
}

// uploadFused uploads ternary matrices of one input stacked by rows, and
// returns each as a view of the stack and the fused form. Matrices that
// are not ternary, or whose rows are not a multiple of the layout's row
// block, are uploaded one by one (no fused form).
func (m *Model) uploadFused(ts ...Tensor) ([]linear, fusedTern, error) {
	out := make([]linear, len(ts))
	fusable := len(ts) <= 3
	for i, t := range ts {
		fusable = fusable && kernels.IsTernary(t.Type) && t.Cols == ts[0].Cols && (t.Rows%ternRowBlock == 0 || i == len(ts)-1)
	}
	if !fusable {
		for i, t := range ts {
			l, err := m.uploadLinear(t)
			if err != nil {
				return nil, fusedTern{}, err
			}
			out[i] = l
		}
		return out, fusedTern{}, nil
	}
	packed := make([][]byte, len(ts))
	total := 0
	for i, t := range ts {
		var err error
		out[i] = linear{kind: linTernary, rows: t.Rows, cols: t.Cols}
		if packed[i], out[i].scale, err = repackTernary(t.Type, t.Rows, t.Cols, t.Data, t.Scale); err != nil {
			return nil, fusedTern{}, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		total += len(packed[i])
	}
	buf, err := m.alloc(total)
	if err != nil {
		return nil, fusedTern{}, err
	}
	f := fusedTern{w: buf, cols: ts[0].Cols}
	off := 0
	for i, p := range packed {
		if err := m.ctx.Upload(buf, int64(off), unsafe.Pointer(unsafe.SliceData(p)), int64(len(p))); err != nil {
			return nil, fusedTern{}, err
		}
		out[i].w, _ = buf.Slice(int64(off), int64(len(p)))
		off += len(p)
		f.sc[i] = out[i].scale
		switch i {
		case 0:
			f.seg1, f.seg2 = f.rows+ts[i].Rows, f.rows+ts[i].Rows
		case 1:
			f.seg2 = f.rows + ts[i].Rows
		}
		f.rows += ts[i].Rows
	}
	for i := len(ts); i < 3; i++ {
		f.sc[i] = f.sc[len(ts)-1]
	}
	return out, f, nil
}

func (m *Model) uploadBlock(b *block, d *BlockDesc) error {
	var err error
	for _, v := range []struct {
		dst *Buffer
		src []float32
	}{{&b.attnNorm, d.AttnNorm}, {&b.attnSub, d.AttnSubNorm}, {&b.ffnNorm, d.FFNNorm}, {&b.ffnSub, d.FFNSubNorm}} {
		if *v.dst, err = m.uploadFloats(v.src); err != nil {
			return err
		}
	}
	qkv, f, err := m.uploadFused(d.Q, d.K, d.V)
	if err != nil {
		return err
	}
	b.q, b.k, b.v, b.qkv = qkv[0], qkv[1], qkv[2], f
	gu, f, err := m.uploadFused(d.Gate, d.Up)
	if err != nil {
		return err
	}
	b.gate, b.up, b.gu = gu[0], gu[1], f
	if b.o, err = m.uploadLinear(d.O); err != nil {
		return err
	}
	b.down, err = m.uploadLinear(d.Down)
	return err
}

// checkFastNorm compares the norm kernel's fast sum of squares with the
// one-thread loop on rows of the model's lengths (random, and with many
// exact rounding ties): true when every bit agrees. The kernel tests check
// the same; this guards a run on a device or driver that would disagree.
func (m *Model) checkFastNorm(dims ...int) (bool, error) {
	st, err := m.ctx.NewStream()
	if err != nil {
		return false, err
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(1, uint64(dims[0])))
	for _, dim := range dims {
		const rows = 4
		x := make([]float32, rows*dim)
		for i := range x {
			switch i / dim {
			case 0:
				x[i] = float32(r.NormFloat64())
			case 1:
				x[i] = float32(r.IntN(7) - 3)
			case 2:
				x[i] = float32(r.IntN(200)-100) / 2
			default:
				x[i] = float32(r.NormFloat64() * math.Exp(3*r.NormFloat64()))
			}
		}
		w := make([]float32, dim)
		for i := range w {
			w[i] = 1
		}
		var bufs []Buffer
		alloc := func(v []float32) Buffer {
			b, e := m.ctx.AllocFloat32(len(v), v)
			if e != nil && err == nil {
				err = e
			}
			bufs = append(bufs, b)
			return b
		}
		xb, wb, slow, fast := alloc(x), alloc(w), alloc(x), alloc(x)
		if err == nil {
			grid, block := [3]uint32{rows, 1, 1}, [3]uint32{normThreads, 1, 1}
			err = errors.Join(
				st.Launch(m.k.RMSNorm, grid, block, 0, xb, wb, slow, int32(rows), i32(dim), float32(0)),
				st.Launch(m.k.RMSNormQuant, grid, block, 0, xb, wb, fast, uint64(0), uint64(0), uint64(0), int32(rows), i32(dim), float32(0), int32(1)),
				st.Sync())
		}
		a, b := make([]float32, len(x)), make([]float32, len(x))
		if err == nil {
			err = errors.Join(m.ctx.DownloadFloat32(a, slow), m.ctx.DownloadFloat32(b, fast))
		}
		for _, buf := range bufs {
			_ = m.ctx.Free(buf)
		}
		if err != nil {
			return false, fmt.Errorf("GPU model: norm check: %w", err)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false, nil
			}
		}
	}
	return true, nil
}

// FastNorm reports whether the norms use the warp-parallel exact sum of
// squares (see checkFastNorm).
func (m *Model) FastNorm() bool { return m.fastNorm }

// Info describes the model's device.
func (m *Model) Info() DeviceInfo { return m.ctx.Info() }

// Context returns the model's CUDA context.
func (m *Model) Context() *Context { return m.ctx }

// WeightBytes is the device memory the weights take.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, b := range m.allocs {
		n += b.Size
	}
	return n
}

// StreamedBytesPerToken is what one decode step reads of the weights: every
// ternary matrix, the output head and the embedding row (the floor of a
// step's time is this over the memory bandwidth).
func (m *Model) StreamedBytesPerToken() int64 {
	n := m.head.w.Size + int64(4*m.hp.dim)
	for _, b := range m.blocks {
		for _, l := range []*linear{&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down} {
			n += l.w.Size
		}
	}
	return n
}

// Close frees the model's sessions, weights and kernels and closes its
// context. Close may be called more than once.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	sessions := m.sessions
	m.sessions = nil
	m.mu.Unlock()
	var errList []error
	for s := range sessions {
		errList = append(errList, s.free())
	}
	errList = append(errList, m.release())
	return errors.Join(errList...)
}

// release frees what init made and closes the context.
func (m *Model) release() error {
	var errList []error
	for _, b := range m.allocs {
		errList = append(errList, m.ctx.Free(b))
	}
	m.allocs = nil
	if m.mod != nil {
		errList = append(errList, m.mod.Close())
		m.mod = nil
	}
	errList = append(errList, m.ctx.Close())
	return errors.Join(errList...)
}

// errModelClosed is the error of a use after Close.
func errModelClosed(what string) error {
	return fmt.Errorf("GPU model: %s: model is closed: %w", what, errs.ErrClosed)
}
