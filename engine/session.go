package engine

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
	"github.com/bitnet-dev/bitnet/quant"
)

// maxBatch is the most tokens one forward pass processes at once; longer
// prompts are prefilled in chunks of this size.
const maxBatch = 256

// maxKVBytes bounds the KV cache a session may allocate.
const maxKVBytes = 64 << 30

// Session is one sequence being evaluated: its KV cache, position, token
// history and scratch buffers. A Session is not safe for concurrent use.
type Session struct {
	m       *Model
	pos     int
	tokens  []int32 // the tokens held in the cache
	pending []int32 // tokens of the sequence not yet evaluated
	kc, vc  [][]float32

	x, h, q, k, v, att, o, g, u, f, d []float32
	q8                                []int8
	qs                                []float32
	logits                            []float32
	// last is the logits row of the last evaluated token (nil when the
	// sequence changed since).
	last []float32
	// gpu holds the KV cache and runs the forward pass when the model is
	// on a GPU (gpu.go).
	gpu *cuda.Session
}

// NewSession allocates a session with a KV cache of the model's context
// length (float32 keys and values).
func (m *Model) NewSession() (*Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.pool == nil {
		return nil, fmt.Errorf("new session: model is closed: %w", errs.ErrClosed)
	}
	if m.gpu != nil {
		return m.newGPUSession()
	}
	hp := m.Hyper
	kvDim := hp.KVHeads * hp.HeadDim
	if _, ok := kvCacheBytes(hp.Layers, m.ctxLen, kvDim); !ok {
		return nil, fmt.Errorf("new session: KV cache of %d positions x %d layers x %d would exceed %d GiB; lower the context length: %w",
			m.ctxLen, hp.Layers, kvDim, maxKVBytes>>30, errs.ErrMemory)
	}
	s := &Session{m: m, kc: make([][]float32, hp.Layers), vc: make([][]float32, hp.Layers)}
	for l := range s.kc {
		s.kc[l] = make([]float32, m.ctxLen*kvDim)
		s.vc[l] = make([]float32, m.ctxLen*kvDim)
	}
	return s, nil
}

// kvCacheBytes is the size of a float32 KV cache, and whether it is within
// maxKVBytes.
func kvCacheBytes(layers, ctx, kvDim int) (uint64, bool) {
	hi1, per := bits.Mul64(uint64(ctx), uint64(kvDim)*8)
	hi2, total := bits.Mul64(per, uint64(layers))
	return total, hi1 == 0 && hi2 == 0 && total <= maxKVBytes
}

// Pos is the number of tokens in the cache.
func (s *Session) Pos() int { return s.pos }

// Tokens returns the tokens of the sequence: those in the cache, then any
// not evaluated yet (the last token of a generation that stopped is only
// evaluated when the sequence continues).
func (s *Session) Tokens() []int32 {
	return append(append([]int32(nil), s.tokens...), s.pending...)
}

// Reset empties the sequence.
func (s *Session) Reset() { s.pos, s.tokens, s.pending, s.last = 0, s.tokens[:0], nil, nil }

// LastLogits returns the logits after the last token of the sequence,
// evaluating what it must (pending tokens, or the last token again after a
// Truncate). The slice is owned by the session.
func (s *Session) LastLogits() ([]float32, error) {
	if len(s.pending) > 0 {
		p := s.pending
		s.pending = nil
		return s.Forward(p, false)
	}
	if s.last != nil {
		return s.last, nil
	}
	if s.pos == 0 {
		return nil, fmt.Errorf("logits: the sequence is empty: %w", errs.ErrInvalidArgument)
	}
	last := s.tokens[s.pos-1]
	s.pos, s.tokens = s.pos-1, s.tokens[:s.pos-1]
	return s.Forward([]int32{last}, false)
}

// Truncate keeps the first n tokens of the sequence, so it can continue
// from an earlier point.
func (s *Session) Truncate(n int) error {
	if n < 0 || n > s.pos+len(s.pending) {
		return fmt.Errorf("truncate to %d: session holds %d tokens: %w", n, s.pos+len(s.pending), errs.ErrInvalidArgument)
	}
	if n >= s.pos {
		s.pending = s.pending[:n-s.pos]
		return nil
	}
	s.pos, s.tokens, s.pending, s.last = n, s.tokens[:n], nil, nil
	return nil
}

// Forward appends tokens to the sequence and returns the logits of the last
// one ([vocab]) or, with all set, of every one ([len(tokens)][vocab]). The
// slice is owned by the session and valid until the next call.
func (s *Session) Forward(tokens []int32, all bool) ([]float32, error) {
	m := s.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.pool == nil {
		return nil, fmt.Errorf("forward: model is closed: %w", errs.ErrClosed)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("forward: no tokens: %w", errs.ErrInvalidArgument)
	}
	vocab := m.Hyper.Vocab
	for i, id := range tokens {
		if id < 0 || int(id) >= vocab {
			return nil, fmt.Errorf("forward: token %d at index %d is outside the vocabulary (0..%d): %w", id, i, vocab-1, errs.ErrInvalidArgument)
		}
	}
	if s.pos+len(s.pending)+len(tokens) > m.ctxLen {
		return nil, fmt.Errorf("forward: %d tokens after %d would exceed the context length %d: %w", len(tokens), s.pos+len(s.pending), m.ctxLen, errs.ErrCapacity)
	}
	if s.gpu != nil {
		return s.gpuForward(tokens, all)
	}
	if len(s.pending) > 0 {
		p := s.pending
		s.pending = nil
		for start := 0; start < len(p); start += maxBatch {
			s.forward(p[start:min(start+maxBatch, len(p))], 0, nil)
		}
	}
	rows := 1
	if all {
		rows = len(tokens)
	}
	s.logits = grow(s.logits, rows*vocab)
	for start := 0; start < len(tokens); start += maxBatch {
		chunk := tokens[start:min(start+maxBatch, len(tokens))]
		// Rows of this chunk whose logits are wanted.
		want := 0
		if all {
			want = len(chunk)
		} else if start+len(chunk) == len(tokens) {
			want = 1
		}
		out := s.logits
		if all {
			out = s.logits[start*vocab:]
		}
		s.forward(chunk, want, out)
	}
	s.last = s.logits[(rows-1)*vocab : rows*vocab]
	return s.logits, nil
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// input is the activation matrix feeding linear layers, quantized to int8
// at most once however many ternary matrices read it.
type input struct {
	x         []float32
	n, cols   int
	quantized bool
}

// forward runs one batch and writes the logits of its last `want` rows.
func (s *Session) forward(tokens []int32, want int, logits []float32) {
	m, be, hp := s.m, s.m.backend, s.m.Hyper
	n, dim, ffn := len(tokens), hp.Dim, hp.FFN
	kvDim := hp.KVHeads * hp.HeadDim
	s.x, s.h = grow(s.x, n*dim), grow(s.h, n*dim)
	s.q, s.att, s.o = grow(s.q, n*dim), grow(s.att, n*dim), grow(s.o, n*dim)
	s.k, s.v = grow(s.k, n*kvDim), grow(s.v, n*kvDim)
	s.g, s.u, s.f = grow(s.g, n*ffn), grow(s.u, n*ffn), grow(s.f, n*ffn)
	s.d = grow(s.d, n*dim)
	s.q8, s.qs = grow(s.q8, n*max(dim, ffn)), grow(s.qs, n)
	x := s.x

	for t, id := range tokens {
		m.embed(x[t*dim:(t+1)*dim], id)
	}
	shape := kernels.AttentionShape{Heads: hp.Heads, KVHeads: hp.KVHeads, HeadDim: hp.HeadDim, Scale: attnScale(hp.HeadDim)}
	for l := range m.layers {
		L := &m.layers[l]
		be.RMSNorm(s.h, x, L.attnNorm, n, dim, hp.Eps)
		in := &input{x: s.h, n: n, cols: dim}
		s.linear(s.q, L.wq, in)
		s.linear(s.k, L.wk, in)
		s.linear(s.v, L.wv, in)
		be.Rope(s.q, n, hp.Heads, hp.HeadDim, s.pos, m.rope)
		be.Rope(s.k, n, hp.KVHeads, hp.HeadDim, s.pos, m.rope)
		copy(s.kc[l][s.pos*kvDim:], s.k)
		copy(s.vc[l][s.pos*kvDim:], s.v)
		be.Attend(s.att, s.q, s.kc[l], s.vc[l], n, s.pos, shape, m.rope)
		if L.attnSubNorm != nil {
			be.RMSNorm(s.att, s.att, L.attnSubNorm, n, dim, hp.Eps)
		}
		s.linear(s.o, L.wo, &input{x: s.att, n: n, cols: dim})
		addInto(x, s.o)

		be.RMSNorm(s.h, x, L.ffnNorm, n, dim, hp.Eps)
		in = &input{x: s.h, n: n, cols: dim}
		s.linear(s.g, L.gate, in)
		s.linear(s.u, L.up, in)
		be.GLU(s.f, s.g, s.u, n*ffn, m.spec.act)
		if L.ffnSubNorm != nil {
			be.RMSNorm(s.f, s.f, L.ffnSubNorm, n, ffn, hp.Eps)
		}
		s.linear(s.d, L.down, &input{x: s.f, n: n, cols: ffn})
		addInto(x, s.d)
	}
	s.tokens = append(s.tokens, tokens...)
	s.pos += n
	if want == 0 {
		return
	}
	last := x[(n-want)*dim : n*dim]
	be.RMSNorm(s.h[:want*dim], last, m.outNorm, want, dim, hp.OutputEps)
	s.linear(logits[:want*hp.Vocab], m.output, &input{x: s.h[:want*dim], n: want, cols: dim})
}

// linear computes out = W in, with int8 activations for ternary W.
func (s *Session) linear(out []float32, w *kernels.Matrix, in *input) {
	be := s.m.backend
	if !w.Ternary() {
		be.MatMul(out, w, in.x, in.n)
		return
	}
	q, qs := s.q8[:in.n*in.cols], s.qs[:in.n]
	if !in.quantized {
		be.QuantizeRows(q, qs, in.x, in.n, in.cols)
		in.quantized = true
	}
	be.MatMulI8(out, w, q, qs, in.n)
}

func addInto(x, y []float32) {
	y = y[:len(x)]
	for i := range x {
		x[i] += y[i]
	}
}

func attnScale(headDim int) float32 {
	return float32(1 / math.Sqrt(float64(headDim)))
}

// embed writes the embedding of token id into dst.
func (m *Model) embed(dst []float32, id int32) {
	e := m.tokEmbd
	// The type was checked at load (canLookupRows).
	_ = quant.DequantizeRow(e.Type, e.Row(int(id)), dst)
	if e.Scale != 1 {
		for i := range dst {
			dst[i] *= e.Scale
		}
	}
}
