package cuda

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/bitnet-dev/bitnet/errs"
)

const (
	// maxGPUBatch is the most tokens one prefill pass processes; longer
	// inputs run in chunks.
	maxGPUBatch = 256
	// scratchBudget bounds the attention scratch of a session (a score per
	// cached position for each head of each token of a pass), which can
	// lower the batch for long contexts.
	scratchBudget = 256 << 20
	// qSlack is the padding after the int8 activations: the ternary
	// kernels read whole 256-column groups (the padding weights are 0).
	qSlack = 256
)

// Session is one sequence on the GPU: its KV cache (float32, the model's
// context length), activations, and the decode step captured in a CUDA
// graph. The position of each call is explicit (Forward's start), so the
// caller may rewind. A Session is not safe for concurrent use.
type Session struct {
	m     *Model
	st    *Stream
	l     launcher
	batch int

	kc, vc                   []Buffer // per layer, views of kv
	kv                       Buffer
	x, h, y, att, qkv, gu, f Buffer
	q8, qs, qsum             Buffer
	logits, scratch          Buffer
	// ctl holds the decode step's position (ctl[0]) and the token ids of
	// a pass (ctl[1:]); hist[p] is the token the step at position p chose.
	ctl, hist Buffer
	bufs      []Buffer

	graph      *Graph
	graphTried bool
	// q8src is the activation buffer whose int8 form q8 holds in the
	// work queued so far (0: none).
	q8src uint64

	hostLogits []float32
	hostInts   []int32
	freed      bool
}

// NewSession allocates a session: KV cache, activations for a batch of
// tokens, and a stream.
func (m *Model) NewSession() (*Session, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, errModelClosed("new session")
	}
	hp := m.hp
	s := &Session{m: m, batch: max(1, min(maxGPUBatch, scratchBudget/(4*hp.heads*hp.ctx)))}
	if err := s.allocate(); err != nil {
		s.free()
		return nil, fmt.Errorf("GPU session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		s.free()
		return nil, errModelClosed("new session")
	}
	m.sessions[s] = struct{}{}
	return s, nil
}

func (s *Session) allocate() error {
	m, hp, B := s.m, s.m.hp, s.batch
	var err error
	if s.st, err = m.ctx.NewStream(); err != nil {
		return err
	}
	s.l = launcher{k: m.k, s: s.st, info: m.ctx.Info()}
	per := int64(hp.ctx) * int64(hp.kvDim()) * 4
	if s.kv, err = s.alloc(2 * int64(hp.layers) * per); err != nil {
		return err
	}
	s.kc, s.vc = make([]Buffer, hp.layers), make([]Buffer, hp.layers)
	for l := range s.kc {
		s.kc[l], _ = s.kv.Slice(int64(l)*per, per)
		s.vc[l], _ = s.kv.Slice(int64(hp.layers+l)*per, per)
	}
	floats := func(n int) int64 { return 4 * int64(n) }
	for _, b := range []struct {
		dst   *Buffer
		bytes int64
	}{
		{&s.x, floats(B * hp.dim)}, {&s.h, floats(B * hp.dim)}, {&s.y, floats(B * hp.dim)}, {&s.att, floats(B * hp.dim)},
		{&s.qkv, floats(B * (hp.dim + 2*hp.kvDim()))}, {&s.gu, floats(B * 2 * hp.ffn)}, {&s.f, floats(B * hp.ffn)},
		{&s.q8, int64(B*max(hp.dim, hp.ffn)) + qSlack}, {&s.qs, floats(B)}, {&s.qsum, floats(B)},
		{&s.logits, floats(B * hp.vocab)}, {&s.scratch, floats(B * hp.heads * hp.ctx)},
		{&s.ctl, floats(B + 1)}, {&s.hist, floats(hp.ctx)},
	} {
		if *b.dst, err = s.alloc(b.bytes); err != nil {
			return err
		}
	}
	// Deterministic contents for the padding the ternary kernels read.
	return m.ctx.Memset(s.q8, 0)
}

func (s *Session) alloc(bytes int64) (Buffer, error) {
	b, err := s.m.ctx.Alloc(bytes)
	if err != nil {
		return Buffer{}, err
	}
	s.bufs = append(s.bufs, b)
	return b, nil
}

// Close frees the session's device memory. Close may be called more than
// once.
func (s *Session) Close() error {
	s.m.mu.Lock()
	_, mine := s.m.sessions[s]
	delete(s.m.sessions, s)
	s.m.mu.Unlock()
	if !mine { // freed by Model.Close, or by an earlier Close
		return nil
	}
	return s.free()
}

func (s *Session) free() error {
	if s.freed {
		return nil
	}
	s.freed = true
	var errList []error
	if s.graph != nil {
		errList = append(errList, s.graph.Close())
		s.graph = nil
	}
	if s.st != nil {
		errList = append(errList, s.st.Sync(), s.st.Close())
	}
	for _, b := range s.bufs {
		errList = append(errList, s.m.ctx.Free(b))
	}
	s.bufs = nil
	return errors.Join(errList...)
}

// Batch is the most tokens one prefill pass processes.
func (s *Session) Batch() int { return s.batch }

func (s *Session) check(what string) error {
	if s.freed {
		return fmt.Errorf("GPU session: %s: session is closed: %w", what, errs.ErrClosed)
	}
	return nil
}

// Forward evaluates tokens at positions start, start+1, ... (the cache's
// contents from start on are replaced) and returns the logits of the last
// want tokens, [want][vocab], owned by the session and valid until the
// next call. A single token runs the captured decode step.
func (s *Session) Forward(tokens []int32, start, want int) ([]float32, error) {
	if err := s.check("forward"); err != nil {
		return nil, err
	}
	hp := s.m.hp
	n := len(tokens)
	if n == 0 || want < 0 || want > n || start < 0 {
		return nil, fmt.Errorf("GPU forward: %d tokens at %d, %d logits rows: %w", n, start, want, errs.ErrInvalidArgument)
	}
	if start+n > hp.ctx {
		return nil, fmt.Errorf("GPU forward: %d tokens at %d exceed the context of %d: %w", n, start, hp.ctx, errs.ErrCapacity)
	}
	for i, id := range tokens {
		if id < 0 || int(id) >= hp.vocab {
			return nil, fmt.Errorf("GPU forward: token %d at index %d is outside the vocabulary: %w", id, i, errs.ErrInvalidArgument)
		}
	}
	s.hostLogits = growF32(s.hostLogits, want*hp.vocab)
	if n == 1 {
		if err := s.step(tokens[0], start); err != nil {
			return nil, err
		}
		if want == 1 {
			if err := s.st.DownloadFloat32Async(s.hostLogits, s.logits); err != nil {
				return nil, fmt.Errorf("GPU forward: %w", err)
			}
		}
		return s.hostLogits, s.sync()
	}
	first := n - want // first row whose logits are wanted
	for c := 0; c < n; c += s.batch {
		chunk := tokens[c:min(c+s.batch, n)]
		w := max(0, c+len(chunk)-max(c, first))
		if err := s.prefill(chunk, start+c, w); err != nil {
			return nil, err
		}
		if w > 0 {
			dst := s.hostLogits[(c+len(chunk)-w-first)*hp.vocab:]
			if err := s.st.DownloadAsync(unsafe.Pointer(unsafe.SliceData(dst)), s.logits, 0, int64(4*w*hp.vocab)); err != nil {
				return nil, fmt.Errorf("GPU forward: %w", err)
			}
		}
	}
	return s.hostLogits, s.sync()
}

// sync waits for the session's work and reports its first error.
func (s *Session) sync() error {
	if err := s.st.Sync(); err != nil {
		return fmt.Errorf("GPU forward: %w", err)
	}
	return nil
}

func growF32(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// prefill queues a pass over tokens (at most the batch) at start, with the
// logits of the last want rows in s.logits. The launches run in one trip
// to the context's thread.
func (s *Session) prefill(tokens []int32, start, want int) error {
	s.hostInts = append(s.hostInts[:0], tokens...)
	err := s.m.ctx.Do(func() error {
		if err := s.st.UploadAsync(s.ctl, 4, unsafe.Pointer(unsafe.SliceData(s.hostInts)), int64(4*len(tokens))); err != nil {
			return err
		}
		s.l.err = nil
		s.enqueuePass(len(tokens), start, want)
		return s.l.err
	})
	if err != nil {
		return fmt.Errorf("GPU forward: %w", err)
	}
	return nil
}

// step queues one decode step of token at position pos: through the
// captured graph (captured on first use), or launch by launch when the
// capture failed.
func (s *Session) step(token int32, pos int) error {
	s.hostInts = append(s.hostInts[:0], int32(pos), token)
	err := s.m.ctx.Do(func() error {
		if err := s.st.UploadAsync(s.ctl, 0, unsafe.Pointer(unsafe.SliceData(s.hostInts)), 8); err != nil {
			return err
		}
		return s.replay()
	})
	if err != nil {
		return fmt.Errorf("GPU decode step: %w", err)
	}
	return nil
}

// replay queues the decode step at the position and token held in device
// memory (called on the context's thread).
func (s *Session) replay() error {
	if !s.graphTried {
		s.capture()
	}
	if s.graph != nil {
		return s.graph.Launch(s.st)
	}
	s.l.err = nil
	s.enqueueStep()
	return s.l.err
}

// capture records the decode step as a graph (on the context's thread, so
// that no other call of the context runs during the capture). If the
// capture fails, the step runs launch by launch instead.
func (s *Session) capture() {
	s.graphTried = true
	if err := s.st.BeginCapture(); err != nil {
		return
	}
	s.l.err = nil
	s.enqueueStep()
	g, err := s.st.EndCapture()
	if err == nil && s.l.err == nil {
		s.graph = g
	} else if g != nil {
		_ = g.Close()
	}
	s.l.err = nil
}

// Graphed reports whether the decode step runs as a captured CUDA graph.
func (s *Session) Graphed() bool { return s.graph != nil }

// DecodeGreedy feeds token at position start and then n-1 more steps,
// each taking the argmax of the logits as the next token, all on the
// device; it returns the n chosen tokens (the last of which is not yet in
// the cache). An argmax with no finite logit is an errs.ErrNumeric error.
func (s *Session) DecodeGreedy(token int32, start, n int) ([]int32, error) {
	if err := s.check("greedy decode"); err != nil {
		return nil, err
	}
	hp := s.m.hp
	if n <= 0 || start < 0 || token < 0 || int(token) >= hp.vocab {
		return nil, fmt.Errorf("GPU greedy decode: %d tokens after token %d at %d: %w", n, token, start, errs.ErrInvalidArgument)
	}
	if start+n > hp.ctx {
		return nil, fmt.Errorf("GPU greedy decode: %d steps at %d exceed the context of %d: %w", n, start, hp.ctx, errs.ErrCapacity)
	}
	if err := s.step(token, start); err != nil {
		return nil, err
	}
	err := s.m.ctx.Do(func() error {
		for i := 1; i < n; i++ {
			if err := s.replay(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("GPU greedy decode: %w", err)
	}
	out := make([]int32, n)
	if err := s.st.DownloadAsync(unsafe.Pointer(unsafe.SliceData(out)), s.hist, int64(4*start), int64(4*n)); err != nil {
		return nil, fmt.Errorf("GPU greedy decode: %w", err)
	}
	if err := s.sync(); err != nil {
		return nil, err
	}
	for i, id := range out {
		if id < 0 {
			return out[:i], fmt.Errorf("GPU greedy decode: step %d has no finite logit: %w", i, errs.ErrNumeric)
		}
	}
	return out, nil
}
