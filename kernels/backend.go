// Package kernels holds the compute kernels of the forward pass behind one
// interface, Backend, so that SIMD, multi-threaded or GPU implementations
// can replace the portable ones without touching the model code.
//
// Reference is the plain Go implementation of every kernel. It is the
// portable path on every platform and the oracle the faster kernels are
// tested against.
//
// Layout conventions: activations are row-major [n][dim] float32 slices
// (one row per token); matrices are [Rows][Cols] (see Matrix); the output
// of a matrix product is [n][Rows].
package kernels

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// RopeMode says which elements of a head RoPE rotates together.
type RopeMode int

const (
	// RopeAdjacent rotates pairs (2i, 2i+1): llama.cpp's "normal" mode,
	// llama2.c, GGUF `llama` files.
	RopeAdjacent RopeMode = iota
	// RopeHalf rotates pairs (i, i+n/2): NEOX / Hugging Face rotate-half,
	// GGUF `bitnet` and `bitnet-b1.58` files.
	RopeHalf
)

// Activation is the gate activation of a gated feed-forward block.
type Activation int

const (
	// SiLU is x * sigmoid(x) (SwiGLU, LLaMA and 1bitLLM BitNet).
	SiLU Activation = iota
	// ReLUSquared is max(x, 0)^2 (BitNet b1.58 2B-4T).
	ReLUSquared
)

// AttentionShape describes multi-head attention with grouped KV heads.
type AttentionShape struct {
	Heads   int     // query heads
	KVHeads int     // key/value heads; Heads must be a multiple
	HeadDim int     // elements per head
	Scale   float32 // score multiplier, normally 1/sqrt(HeadDim)
}

// Backend is the set of kernels the forward pass calls. Implementations
// split work over their own worker pool; a Backend is used by one forward
// pass at a time.
type Backend interface {
	// Name identifies the implementation ("go", "avx2", ...).
	Name() string
	// Threads is the number of workers used.
	Threads() int

	// MatMul computes out[t][r] = Scale * sum_c W[r][c] * x[t][c] for
	// t < n, for matrices with float32 activations.
	MatMul(out []float32, w *Matrix, x []float32, n int)
	// QuantizeRows quantizes n rows of cols activations to int8, per row
	// (BitNet b1.58: s = 127/max|x|), writing q [n][cols] and s [n].
	QuantizeRows(q []int8, s []float32, x []float32, n, cols int)
	// MatMulI8 computes out[t][r] = (sum_c W[r][c] * q[t][c]) * (1/s[t]) *
	// Scale for ternary matrices, in that order of float32 operations (the
	// order of the bitllama2c reference, which greedy decoding reproduces
	// token for token). The sum is exact integer arithmetic (per block,
	// weighted by block scales, for types that have them).
	MatMulI8(out []float32, w *Matrix, q []int8, s []float32, n int)

	// RMSNorm computes out = x / sqrt(mean(x^2) + eps) * weight for each
	// of n rows of dim elements. out may alias x.
	RMSNorm(out, x, weight []float32, n, dim int, eps float32)
	// Rope rotates n rows of heads*headDim elements in place; row t is at
	// position start+t. Only the first rot.Dims elements of each head turn.
	Rope(x []float32, n, heads, headDim, start int, rot *RopeTable)
	// GLU computes out = act(gate) * up elementwise over n values.
	GLU(out, gate, up []float32, n int, act Activation)
	// Attend computes causal attention for n query rows at positions
	// start..start+n-1 over the cached keys and values of positions
	// 0..start+n-1 ([pos][KVHeads*HeadDim] each), writing [n][Heads*HeadDim].
	// rot is the RoPE table the keys were rotated with (its layout fixes
	// the order of the q.k sums).
	Attend(out, q, kCache, vCache []float32, n, start int, a AttentionShape, rot *RopeTable)
}

// Available lists the backends this machine can run, fastest first: the
// SIMD ones its CPU supports, then "go" (Reference).
func Available() []string { return append(simdLevels(), "go") }

// New returns the backend named name (one of Available(), or "auto" for the
// fastest), or an error naming what this machine offers.
func New(pool *Pool, name string) (Backend, error) {
	avail := Available()
	if name == "" || name == "auto" {
		name = avail[0]
	}
	if name == "go" {
		return NewReference(pool), nil
	}
	for _, a := range avail {
		if a == name {
			return newSIMD(pool, name), nil
		}
	}
	return nil, fmt.Errorf("kernels %q are not available on this machine (available: %v): %w", name, avail, errs.ErrUnsupported)
}

// Best returns the fastest backend this machine supports.
func Best(pool *Pool) Backend {
	b, _ := New(pool, "auto")
	return b
}
