package engine

import (
	"fmt"
	"runtime"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
	"github.com/bitnet-dev/bitnet/sampling"
)

// The CUDA path: with Options.Device a CUDA device, the model loaded for
// the CPU is described to kernels/cuda, which uploads it; sessions then
// keep their KV cache on the GPU and Session.Forward runs there (the decode
// step as a captured CUDA graph). The CPU path is unchanged otherwise.

// attachGPU uploads the model to its CUDA device.
func (m *Model) attachGPU() error {
	g, err := cuda.NewModel(m.gpuDescription(), m.device.Index)
	if err != nil {
		return fmt.Errorf("load on %v: %w", m.device, err)
	}
	m.gpu = g
	return nil
}

// closeGPU frees the model's GPU memory (its sessions' too).
func (m *Model) closeGPU() {
	if m.gpu != nil {
		_ = m.gpu.Close()
		m.gpu = nil
	}
}

// gpuDescription describes the loaded model for the GPU backend.
func (m *Model) gpuDescription() *cuda.ModelDesc {
	hp := m.Hyper
	d := &cuda.ModelDesc{
		Dim: hp.Dim, Layers: hp.Layers, Heads: hp.Heads, KVHeads: hp.KVHeads, HeadDim: hp.HeadDim, FFN: hp.FFN,
		Vocab: hp.Vocab, RopeDims: hp.RopeDims, RopeBase: hp.RopeBase, RopeHalf: m.spec.rope == kernels.RopeHalf,
		ReLU2: m.spec.act == kernels.ReLUSquared, Eps: hp.Eps, OutputEps: hp.OutputEps, Context: m.ctxLen,
		Embedding: gpuTensor(m.tokEmbd), Output: gpuTensor(m.output), OutputTied: m.output == m.tokEmbd,
		OutputNorm: m.outNorm, Blocks: make([]cuda.BlockDesc, len(m.layers)),
	}
	for i := range m.layers {
		L := &m.layers[i]
		d.Blocks[i] = cuda.BlockDesc{
			AttnNorm: L.attnNorm, AttnSubNorm: L.attnSubNorm, FFNNorm: L.ffnNorm, FFNSubNorm: L.ffnSubNorm,
			Q: gpuTensor(L.wq), K: gpuTensor(L.wk), V: gpuTensor(L.wv), O: gpuTensor(L.wo),
			Gate: gpuTensor(L.gate), Up: gpuTensor(L.up), Down: gpuTensor(L.down),
		}
	}
	return d
}

func gpuTensor(w *kernels.Matrix) cuda.Tensor {
	return cuda.Tensor{Name: w.Name, Type: w.Type, Rows: w.Rows, Cols: w.Cols, Data: w.Data, Scale: w.Scale}
}

// newGPUSession makes a session whose KV cache is on the GPU (called with
// m.mu held for reading). Its device memory is freed by Close, when the
// session is garbage, or when the model closes.
func (m *Model) newGPUSession() (*Session, error) {
	g, err := m.gpu.NewSession()
	if err != nil {
		return nil, fmt.Errorf("new session on %v: %w", m.device, err)
	}
	s := &Session{m: m, gpu: g}
	runtime.AddCleanup(s, func(g *cuda.Session) { _ = g.Close() }, g)
	return s, nil
}

// Close frees what the session holds outside Go memory (its GPU KV cache);
// a CPU session has nothing to free. The session is unusable afterwards
// only on the GPU. Close may be called more than once.
func (s *Session) Close() error {
	if s.gpu != nil {
		return s.gpu.Close()
	}
	return nil
}

// gpuForward is Forward on the GPU (arguments already checked): pending
// tokens first, then tokens, with the logits of the last one or all.
func (s *Session) gpuForward(tokens []int32, all bool) ([]float32, error) {
	if len(s.pending) > 0 {
		p := s.pending
		if _, err := s.gpu.Forward(p, s.pos, 0); err != nil {
			return nil, fmt.Errorf("forward: %w", err)
		}
		s.pending = nil
		s.tokens = append(s.tokens, p...)
		s.pos += len(p)
	}
	want := 1
	if all {
		want = len(tokens)
	}
	out, err := s.gpu.Forward(tokens, s.pos, want)
	if err != nil {
		s.last = nil
		return nil, fmt.Errorf("forward: %w", err)
	}
	s.tokens = append(s.tokens, tokens...)
	s.pos += len(tokens)
	vocab := s.m.Hyper.Vocab
	s.logits = out
	s.last = out[(want-1)*vocab : want*vocab]
	return out, nil
}

// GreedyOnDevice generates n tokens greedily after the sequence with the
// whole loop on the GPU (the argmax too; no logits reach the host): the
// first token from the logits after the sequence, then n-1 decode steps.
// As after Generate, the last token is in the sequence but not evaluated
// yet. Models on the CPU return errs.ErrUnsupported.
func (s *Session) GreedyOnDevice(n int) ([]int32, error) {
	if s.gpu == nil {
		return nil, fmt.Errorf("greedy on device: the model runs on the CPU: %w", errs.ErrUnsupported)
	}
	if n <= 0 {
		return nil, fmt.Errorf("greedy on device: %d tokens: %w", n, errs.ErrInvalidArgument)
	}
	logits, err := s.LastLogits()
	if err != nil {
		return nil, err
	}
	first, err := sampling.Argmax(logits)
	if err != nil {
		return nil, fmt.Errorf("greedy on device: %w", err)
	}
	m := s.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.gpu == nil {
		return nil, fmt.Errorf("greedy on device: model is closed: %w", errs.ErrClosed)
	}
	if s.pos+n-1 > m.ctxLen {
		return nil, fmt.Errorf("greedy on device: %d tokens after %d would exceed the context length %d: %w", n, s.pos, m.ctxLen, errs.ErrCapacity)
	}
	out := []int32{first}
	if n > 1 {
		rest, err := s.gpu.DecodeGreedy(first, s.pos, n-1)
		if err != nil {
			s.last = nil
			return nil, fmt.Errorf("greedy on device: %w", err)
		}
		out = append(out, rest...)
	}
	s.tokens = append(s.tokens, out[:n-1]...)
	s.pos += n - 1
	s.pending = append(s.pending, out[n-1])
	s.last = nil
	return out, nil
}

// GPU returns the model's GPU backend (nil on the CPU), for benchmarks and
// tests.
func (m *Model) GPU() *cuda.Model { return m.gpu }
