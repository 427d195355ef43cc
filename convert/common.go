// Package convert writes GGUF models: from llama2.c checkpoints, from
// another GGUF file in a different weight type, and from random ternary
// weights of a named shape (for benchmarks that need full-size models
// without a download).
//
// Weight-type policy, shared by every path:
//   - the linear layers (attn_q/k/v/output, ffn_gate/up/down) take the
//     requested type; ternary types need ternary-valued weights (or a
//     BitNet architecture, whose float weights are ternarized with absmean,
//     as the BitNet b1.58 graph does at run time anyway);
//   - I2_S stores the ternary scale in its tensor tail; TQ1_0 and TQ2_0
//     store codes with block scale 1 and the scale in a float32
//     "<name>.scale" tensor, which keeps it exact (a float16 block scale
//     would round it);
//   - norms stay float32; token embedding and output head take the
//     requested type for float targets (f32, f16, bf16, q8_0, ...) and keep
//     their type for ternary targets, unless Options.EmbedType says
//     otherwise.
package convert

import (
	"encoding/binary"
	"fmt"
	"regexp"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

// Options control a conversion.
type Options struct {
	// Type is the weight type of the linear layers.
	Type quant.Type
	// EmbedType, when set, is the type of token_embd and output; nil
	// applies the package policy.
	EmbedType *quant.Type
	// Name overrides general.name.
	Name string
	// Progress, when set, is called after each tensor is written.
	Progress func(done, total int, name string)
}

// IsTernaryType reports whether t stores ternary codes.
func IsTernaryType(t quant.Type) bool {
	return t == quant.I2_S || t == quant.TQ1_0 || t == quant.TQ2_0
}

// fileType is llama.cpp's general.file_type for a model whose linear layers
// are of type t (I2_S uses bitnet.cpp's value).
func fileType(t quant.Type) uint32 {
	switch t {
	case quant.F32:
		return 0
	case quant.F16:
		return 1
	case quant.Q4_0:
		return 2
	case quant.Q4_1:
		return 3
	case quant.Q8_0:
		return 7
	case quant.Q6_K:
		return 18
	case quant.BF16:
		return 32
	case quant.TQ1_0:
		return 36
	case quant.TQ2_0:
		return 37
	case quant.I2_S:
		return 40
	}
	return 0
}

var linearName = regexp.MustCompile(`^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$`)

// isLinear reports whether a tensor name is a transformer linear layer.
func isLinear(name string) bool { return linearName.MatchString(name) }

// isEmbedding reports whether the tensor is the token embedding or head.
func isEmbedding(name string) bool { return name == "token_embd.weight" || name == "output.weight" }

// embedType is the type of the embedding / head under opts.
func embedType(src quant.Type, opts Options) quant.Type {
	if opts.EmbedType != nil {
		return *opts.EmbedType
	}
	if IsTernaryType(opts.Type) {
		return src
	}
	return opts.Type
}

// checkTarget verifies a type can be written for a rows x cols matrix.
func checkTarget(t quant.Type, name string, rows, cols int) error {
	info, ok := quant.Lookup(t)
	if !ok || (!info.CanQuantize() && t != quant.I2_S) {
		return fmt.Errorf("%s: cannot write weight type %v: %w", name, t, errs.ErrUnsupported)
	}
	if cols%info.BlockSize != 0 {
		return fmt.Errorf("%s: rows of %d weights are not a multiple of the %v block size %d; choose another type: %w",
			name, cols, t, info.BlockSize, errs.ErrQuantization)
	}
	return nil
}

// encodeFloat quantizes float values of a rows x cols matrix as t.
func encodeFloat(t quant.Type, vals []float32, rows, cols int) ([]byte, error) {
	size, err := quant.TensorBytes(t, []uint64{uint64(cols), uint64(rows)})
	if err != nil {
		return nil, err
	}
	dst := make([]byte, size)
	if err := quant.Quantize(t, vals, dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// encodeTernary packs ternary codes with scale gamma as t. For TQ types it
// returns the scale to store in a ".scale" tensor (the blocks hold d = 1).
func encodeTernary(t quant.Type, codes []int8, gamma float32, rows, cols int) (data []byte, scale float32, err error) {
	if t == quant.I2_S {
		data = make([]byte, len(codes)/4+quant.I2STail)
		return data, 1, quant.PackI2S(codes, gamma, data)
	}
	vals := make([]float32, len(codes))
	for i, c := range codes {
		vals[i] = float32(c)
	}
	if data, err = encodeFloat(t, vals, rows, cols); err != nil {
		return nil, 0, err
	}
	// The block scale is the block's largest magnitude: 1, or 0 for an
	// all-zero block. Store 1 there too, so every block has d = 1 as
	// documented (and as other converters write it); the codes are 1
	// (zero) either way.
	info, _ := quant.Lookup(t)
	for off := info.BlockBytes - 2; off < len(data); off += info.BlockBytes {
		binary.LittleEndian.PutUint16(data[off:], f16One)
	}
	return data, gamma, nil
}

// f16One is 1.0 in IEEE half precision; TQ1_0 and TQ2_0 blocks end with
// their f16 scale.
const f16One = 0x3c00

// ternarize returns the codes and scale of a matrix: exact when the values
// are ternary, with absmean otherwise (allowed only when bitLinear).
func ternarize(name string, vals []float32, bitLinear bool) ([]int8, float32, error) {
	codes := make([]int8, len(vals))
	if a, ok := quant.TernaryValues(vals, codes); ok {
		return codes, a, nil
	}
	if !bitLinear {
		return nil, 0, fmt.Errorf("%s: weights are not ternary and the architecture is not BitNet; a ternary type would destroy the model: %w", name, errs.ErrQuantization)
	}
	return codes, quant.AbsmeanTernarize(vals, codes), nil
}

// isBitLinearArch reports whether an architecture's linear layers are BitNet
// b1.58 BitLinear layers.
func isBitLinearArch(arch string) bool {
	switch arch {
	case "bitnet", "bitnet-b1.58", "bitnet-25":
		return true
	}
	return false
}

// setTokenizer writes a SentencePiece-style vocabulary into w. A special
// token id of -1 (disabled in SentencePiece) is left out.
func setTokenizer(w *gguf.Writer, tokens []string, scores []float32, types []int32, bos, eos, unk int32) error {
	type kv struct {
		k string
		v any
	}
	kvs := []kv{
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
	}
	for _, id := range []kv{{"tokenizer.ggml.unknown_token_id", unk}, {"tokenizer.ggml.bos_token_id", bos}, {"tokenizer.ggml.eos_token_id", eos}} {
		if v := id.v.(int32); v >= 0 {
			kvs = append(kvs, kv{id.k, uint32(v)})
		}
	}
	kvs = append(kvs, kv{"tokenizer.ggml.add_bos_token", bos >= 0}, kv{"tokenizer.ggml.add_eos_token", false})
	for _, e := range kvs {
		if err := w.Set(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// Hyper is the shape written into a model's metadata.
type Hyper struct {
	Arch                      string
	Context, Dim, Layers, FFN int
	Heads, KVHeads, RopeDims  int
	Vocab                     int
	Eps, RopeBase             float32
}

func setHyper(w *gguf.Writer, h Hyper, name string, t quant.Type) error {
	p := h.Arch + "."
	for _, kv := range []struct {
		k string
		v any
	}{
		{"general.architecture", h.Arch},
		{"general.name", name},
		{"general.file_type", fileType(t)},
		{"general.quantization_version", uint32(2)},
		{p + "context_length", uint32(h.Context)},
		{p + "embedding_length", uint32(h.Dim)},
		{p + "block_count", uint32(h.Layers)},
		{p + "feed_forward_length", uint32(h.FFN)},
		{p + "rope.dimension_count", uint32(h.RopeDims)},
		{p + "attention.head_count", uint32(h.Heads)},
		{p + "attention.head_count_kv", uint32(h.KVHeads)},
		{p + "attention.layer_norm_rms_epsilon", h.Eps},
		{p + "rope.freq_base", h.RopeBase},
		{p + "vocab_size", uint32(h.Vocab)},
	} {
		if err := w.Set(kv.k, kv.v); err != nil {
			return err
		}
	}
	return nil
}
