package cuda

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// ModelDesc describes a model for the GPU: what the CPU engine loaded, as
// plain values (the engine fills it; this package does not import the
// engine). The slices alias the engine's memory and are only read while
// NewModel runs.
type ModelDesc struct {
	Dim, Layers, Heads, KVHeads, HeadDim, FFN, Vocab int
	// RopeDims elements of each head turn (even, <= HeadDim), with
	// frequencies base^(-2i/RopeDims).
	RopeDims int
	RopeBase float32
	// RopeHalf selects rotate-half pairs (i, i+RopeDims/2) (NEOX, BitNet);
	// otherwise adjacent pairs (2i, 2i+1) (llama2.c).
	RopeHalf bool
	// ReLU2 selects the squared-ReLU gate (BitNet b1.58 2B-4T), else SiLU.
	ReLU2 bool
	// Eps is the epsilon of every block norm, OutputEps that of the final
	// norm.
	Eps, OutputEps float32
	// Context is the number of positions each session holds.
	Context int

	Embedding  Tensor // [Vocab][Dim]
	Output     Tensor // [Vocab][Dim]; may be the embedding (OutputTied)
	OutputTied bool
	OutputNorm []float32
	Blocks     []BlockDesc
}

// BlockDesc is one transformer block. The sub-norms are nil in
// architectures without them.
type BlockDesc struct {
	AttnNorm, AttnSubNorm, FFNNorm, FFNSubNorm []float32
	Q, K, V, O, Gate, Up, Down                 Tensor
}

// Tensor is a weight matrix as the CPU engine holds it (kernels.Matrix):
// Rows x Cols in Type; for I2_S, Data is the codes only (the tensor's
// scale is folded into Scale); every output is multiplied by Scale.
type Tensor struct {
	Name       string
	Type       quant.Type
	Rows, Cols int
	Data       []byte
	Scale      float32
}

// check validates the description's shapes.
func (d *ModelDesc) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("GPU model: "+format+": %w", append(a, errs.ErrModel)...)
	}
	switch {
	case d.Dim <= 0 || d.Layers <= 0 || d.Heads <= 0 || d.KVHeads <= 0 || d.HeadDim <= 0 || d.FFN <= 0 || d.Vocab <= 0:
		return bad("shape dim %d layers %d heads %d/%d head %d ffn %d vocab %d", d.Dim, d.Layers, d.Heads, d.KVHeads, d.HeadDim, d.FFN, d.Vocab)
	case d.Heads%d.KVHeads != 0 || d.Heads*d.HeadDim != d.Dim:
		return bad("%d heads of %d with %d KV heads for dim %d", d.Heads, d.HeadDim, d.KVHeads, d.Dim)
	case d.RopeDims <= 0 || d.RopeDims%2 != 0 || d.RopeDims > d.HeadDim:
		return bad("rope dims %d for head %d", d.RopeDims, d.HeadDim)
	case d.Context <= 0:
		return bad("context %d", d.Context)
	case len(d.Blocks) != d.Layers:
		return bad("%d blocks for %d layers", len(d.Blocks), d.Layers)
	case len(d.OutputNorm) != d.Dim:
		return bad("output norm of %d", len(d.OutputNorm))
	}
	if err := checkTensor(d.Embedding, d.Vocab, d.Dim); err != nil {
		return err
	}
	if err := checkTensor(d.Output, d.Vocab, d.Dim); err != nil {
		return err
	}
	kv := d.KVHeads * d.HeadDim
	for i, b := range d.Blocks {
		vecs := []struct {
			v        []float32
			n        int
			optional bool
		}{{b.AttnNorm, d.Dim, false}, {b.FFNNorm, d.Dim, false}, {b.AttnSubNorm, d.Dim, true}, {b.FFNSubNorm, d.FFN, true}}
		for _, v := range vecs {
			if len(v.v) != v.n && !(v.optional && v.v == nil) {
				return bad("block %d: norm of %d, want %d", i, len(v.v), v.n)
			}
		}
		mats := []struct {
			t          Tensor
			rows, cols int
		}{{b.Q, d.Dim, d.Dim}, {b.K, kv, d.Dim}, {b.V, kv, d.Dim}, {b.O, d.Dim, d.Dim},
			{b.Gate, d.FFN, d.Dim}, {b.Up, d.FFN, d.Dim}, {b.Down, d.Dim, d.FFN}}
		for _, mt := range mats {
			if err := checkTensor(mt.t, mt.rows, mt.cols); err != nil {
				return fmt.Errorf("block %d: %w", i, err)
			}
		}
	}
	return nil
}

func checkTensor(t Tensor, rows, cols int) error {
	if t.Rows != rows || t.Cols != cols {
		return fmt.Errorf("GPU model: tensor %s is %dx%d, want %dx%d: %w", t.Name, t.Rows, t.Cols, rows, cols, errs.ErrModel)
	}
	return nil
}
