package engine

import (
	"fmt"
	"math"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/kernels"
)

// archSpec is what differs between the supported architectures.
type archSpec struct {
	name string
	rope kernels.RopeMode
	act  kernels.Activation
	// subNorms: the attention output and the FFN hidden state are
	// RMS-normalized before their output projections (BitNet's SubLN).
	subNorms bool
	// bitLinear: every linear layer is a BitNet b1.58 BitLinear, so float
	// matrices are ternarized at load (exactly when they are already
	// ternary-valued, with absmean otherwise).
	bitLinear bool
}

var archSpecs = map[string]archSpec{
	"llama":        {name: "llama", rope: kernels.RopeAdjacent, act: kernels.SiLU},
	"bitnet":       {name: "bitnet", rope: kernels.RopeHalf, act: kernels.SiLU, subNorms: true, bitLinear: true},
	"bitnet-b1.58": {name: "bitnet-b1.58", rope: kernels.RopeHalf, act: kernels.ReLUSquared, subNorms: true, bitLinear: true},
	"bitnet-25":    {name: "bitnet-b1.58", rope: kernels.RopeHalf, act: kernels.ReLUSquared, subNorms: true, bitLinear: true},
}

// Architectures lists the general.architecture values the engine runs.
func Architectures() []string { return []string{"llama", "bitnet", "bitnet-b1.58", "bitnet-25"} }

// KeyOutputNormEpsilon (after "<arch>.") is this engine's metadata key for
// an epsilon of the final RMSNorm that differs from the blocks' norms.
// Other engines ignore it and use layer_norm_rms_epsilon for every norm.
const KeyOutputNormEpsilon = "output_norm.layer_norm_rms_epsilon"

// Hyperparams is the shape of a model, read from its metadata.
type Hyperparams struct {
	Arch          string  `json:"architecture"`
	ContextLength int     `json:"context_length"`
	Dim           int     `json:"embedding_length"`
	Layers        int     `json:"block_count"`
	FFN           int     `json:"feed_forward_length"`
	Heads         int     `json:"head_count"`
	KVHeads       int     `json:"head_count_kv"`
	HeadDim       int     `json:"head_dim"`
	RopeDims      int     `json:"rope_dimension_count"`
	RopeBase      float32 `json:"rope_freq_base"`
	Eps           float32 `json:"rms_epsilon"`
	// OutputEps is the epsilon of the final norm: Eps unless the file sets
	// KeyOutputNormEpsilon (bitllama2c conversions: blocks 0, final 1e-5).
	OutputEps float32 `json:"output_norm_epsilon"`
	Vocab     int     `json:"vocab_size"`
}

// limits on hyperparameters, far above any real model, so a hostile file
// cannot make the engine allocate absurd buffers.
const (
	maxDim     = 1 << 16
	maxLayers  = 1 << 10
	maxHeads   = 1 << 12
	maxContext = 1 << 22
	maxVocab   = 1 << 22
)

// readHyperparams reads and checks the shape of a model of architecture arch.
func readHyperparams(md *gguf.Metadata, arch string) (Hyperparams, error) {
	hp := Hyperparams{Arch: arch}
	p := arch + "."
	req := func(key string, lim int) (int, error) {
		v, ok := md.Uint(p + key)
		if !ok {
			return 0, fmt.Errorf("metadata %s%s missing or not an unsigned integer: %w", p, key, errs.ErrModel)
		}
		if v == 0 || v > uint64(lim) {
			return 0, fmt.Errorf("metadata %s%s = %d is out of range (1..%d): %w", p, key, v, lim, errs.ErrModel)
		}
		return int(v), nil
	}
	opt := func(key string, def, lim int) (int, error) {
		if !md.Has(p + key) {
			return def, nil
		}
		return req(key, lim)
	}
	var err error
	if hp.Dim, err = req("embedding_length", maxDim); err != nil {
		return hp, err
	}
	if hp.Layers, err = req("block_count", maxLayers); err != nil {
		return hp, err
	}
	if hp.FFN, err = req("feed_forward_length", 1<<20); err != nil {
		return hp, err
	}
	if hp.Heads, err = req("attention.head_count", maxHeads); err != nil {
		return hp, err
	}
	if hp.KVHeads, err = opt("attention.head_count_kv", hp.Heads, maxHeads); err != nil {
		return hp, err
	}
	if hp.ContextLength, err = opt("context_length", 2048, maxContext); err != nil {
		return hp, err
	}
	if hp.HeadDim, err = opt("attention.key_length", hp.Dim/hp.Heads, maxDim); err != nil {
		return hp, err
	}
	if hp.RopeDims, err = opt("rope.dimension_count", hp.HeadDim, maxDim); err != nil {
		return hp, err
	}
	if hp.Heads%hp.KVHeads != 0 {
		return hp, fmt.Errorf("%d attention heads are not a multiple of %d KV heads: %w", hp.Heads, hp.KVHeads, errs.ErrModel)
	}
	if hp.HeadDim*hp.Heads != hp.Dim {
		return hp, fmt.Errorf("head size %d x %d heads != embedding length %d (not supported): %w", hp.HeadDim, hp.Heads, hp.Dim, errs.ErrUnsupported)
	}
	if hp.RopeDims > hp.HeadDim || hp.RopeDims%2 != 0 {
		return hp, fmt.Errorf("rope dimension count %d must be even and at most the head size %d: %w", hp.RopeDims, hp.HeadDim, errs.ErrModel)
	}
	hp.Eps = 1e-5
	if v, ok := md.Float(p + "attention.layer_norm_rms_epsilon"); ok {
		if !(v >= 0 && v < 1) {
			return hp, fmt.Errorf("rms epsilon %g out of range: %w", v, errs.ErrModel)
		}
		hp.Eps = float32(v)
	}
	hp.OutputEps = hp.Eps
	if v, ok := md.Float(p + KeyOutputNormEpsilon); ok {
		if !(v >= 0 && v < 1) {
			return hp, fmt.Errorf("output norm epsilon %g out of range: %w", v, errs.ErrModel)
		}
		hp.OutputEps = float32(v)
	}
	hp.RopeBase = 10000
	if v, ok := md.Float(p + "rope.freq_base"); ok {
		if !(v > 1 && v < math.MaxFloat32) {
			return hp, fmt.Errorf("rope frequency base %g out of range: %w", v, errs.ErrModel)
		}
		hp.RopeBase = float32(v)
	}
	if v, ok := md.Uint(p + "vocab_size"); ok && v > 0 && v <= maxVocab {
		hp.Vocab = int(v)
	}
	return hp, nil
}
