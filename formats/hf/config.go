// Package hf maps Hugging Face model folders (config.json, safetensors
// weights, tokenizer files) onto the engine's neutral model description
// (formats/source): GGUF metadata keys and GGUF tensor names, types and
// layouts, as a converter to GGUF would write them.
//
// Supported architectures (config.json "architectures"):
//   - LlamaForCausalLM -> `llama`. q/k rows are permuted from Hugging Face's
//     rotate-half RoPE pairing to the interleaved pairs of the `llama`
//     architecture, as llama.cpp's converter does.
//   - BitNetForCausalLM (microsoft/bitnet-b1.58-2B-4T) -> `bitnet-b1.58`
//     with hidden_act "relu2", `bitnet` with "silu". Packed uint8 weights
//     [out/4, in] with a weight_scale become I2_S tensors; the -bf16 master
//     weights stay float and the engine ternarizes them with absmean.
//   - BitnetForCausalLM (1bitLLM) -> `bitnet`: float weights (ternarized by
//     the engine), sub-norms named inner_attn_ln and ffn_layernorm.
//
// The `bitnet*` architectures keep rotate-half pairing, so their q/k rows
// are not permuted. This package reads no engine code; the engine loads the
// Source it builds like a GGUF file.
package hf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bitnet-dev/bitnet/errs"
)

// ConfigFile is the name of a model folder's configuration.
const ConfigFile = "config.json"

// KeyOutputNormEps is an extra config.json key that only this engine
// reads: the epsilon of the final RMSNorm when it differs from
// rms_norm_eps (bitllama2c-style models have none in the blocks and 1e-5
// in the final norm). It becomes the GGUF key
// "<arch>.output_norm.layer_norm_rms_epsilon".
const KeyOutputNormEps = "bitnet_engine_output_rms_norm_eps"

// maxConfigSize bounds config.json.
const maxConfigSize = 16 << 20

// Config is the part of config.json this package reads.
type Config struct {
	Architectures         []string `json:"architectures"`
	ModelType             string   `json:"model_type"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      *int     `json:"num_key_value_heads"`
	HeadDim               *int     `json:"head_dim"`
	RMSNormEps            *float64 `json:"rms_norm_eps"`
	RopeTheta             *float64 `json:"rope_theta"`
	RopeScaling           any      `json:"rope_scaling"`
	PartialRotaryFactor   *float64 `json:"partial_rotary_factor"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	VocabSize             int      `json:"vocab_size"`
	TieWordEmbeddings     *bool    `json:"tie_word_embeddings"`
	HiddenAct             string   `json:"hidden_act"`
	AttentionBias         bool     `json:"attention_bias"`
	MLPBias               bool     `json:"mlp_bias"`
	NameOrPath            string   `json:"_name_or_path"`
	// OutputNormEps is KeyOutputNormEps (nil when absent).
	OutputNormEps      *float64            `json:"bitnet_engine_output_rms_norm_eps"`
	QuantizationConfig *QuantizationConfig `json:"quantization_config"`
}

// QuantizationConfig is config.json's quantization_config.
type QuantizationConfig struct {
	QuantMethod      string `json:"quant_method"`
	LinearClass      string `json:"linear_class"`
	QuantizationMode string `json:"quantization_mode"`
	UseRMSNorm       bool   `json:"use_rms_norm"`
}

// ReadConfig reads config.json from a model folder.
func ReadConfig(dir string) (*Config, error) {
	p := filepath.Join(dir, ConfigFile)
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	if st.Size() > maxConfigSize {
		return nil, fmt.Errorf("hf: %s: %d bytes is too large for a config: %w", p, st.Size(), errs.ErrFormat)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("hf: %s: %w", p, err)
	}
	return c, nil
}

// ParseConfig parses the JSON of a config.json.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config: %v: %w", err, errs.ErrFormat)
	}
	return &c, nil
}

// Arch is what an HF architecture maps to.
type Arch struct {
	// HF is the class name from config.json.
	HF string
	// GGUF is the engine architecture (general.architecture).
	GGUF string
	// BitLinear: the linear layers are BitNet b1.58 BitLinear layers.
	BitLinear bool
	// PermuteQK: q/k rows are permuted from rotate-half to interleaved.
	PermuteQK bool
}

// Architecture maps the config's architecture and activation onto an
// engine architecture.
func (c *Config) Architecture() (Arch, error) {
	if len(c.Architectures) == 0 {
		return Arch{}, fmt.Errorf("config.json names no architecture: %w", errs.ErrModel)
	}
	name := c.Architectures[0]
	act := c.HiddenAct
	if act == "" {
		act = "silu"
	}
	switch name {
	case "LlamaForCausalLM":
		if act != "silu" {
			return Arch{}, fmt.Errorf("%s with hidden_act %q (only silu): %w", name, c.HiddenAct, errs.ErrUnsupported)
		}
		return Arch{HF: name, GGUF: "llama", PermuteQK: true}, nil
	case "BitNetForCausalLM", "BitnetForCausalLM":
		switch act {
		case "relu2":
			return Arch{HF: name, GGUF: "bitnet-b1.58", BitLinear: true}, nil
		case "silu":
			return Arch{HF: name, GGUF: "bitnet", BitLinear: true}, nil
		}
		return Arch{}, fmt.Errorf("%s with hidden_act %q (supported: relu2, silu): %w", name, c.HiddenAct, errs.ErrUnsupported)
	}
	return Arch{}, fmt.Errorf("architecture %s is not supported (supported: LlamaForCausalLM, BitNetForCausalLM, BitnetForCausalLM): %w",
		name, errs.ErrUnsupported)
}

// ScaleMode says how a packed weight's weight_scale enters the output.
type ScaleMode int

// Scale modes.
const (
	// ScaleAuto follows config.json: quantization_config.linear_class
	// "autobitlinear" multiplies, "bitlinear" (transformers' default)
	// divides.
	ScaleAuto ScaleMode = iota
	// ScaleMultiply: y = (W_t x) * weight_scale, so gamma = weight_scale
	// (transformers' AutoBitLinear, offline mode).
	ScaleMultiply
	// ScaleDivide: y = (W_t x) / weight_scale, so gamma = 1/weight_scale
	// (transformers' BitLinear).
	ScaleDivide
)

// scaleMode resolves ScaleAuto from the config.
func (c *Config) scaleMode(m ScaleMode) ScaleMode {
	if m != ScaleAuto {
		return m
	}
	if q := c.QuantizationConfig; q != nil && q.LinearClass == "autobitlinear" {
		return ScaleMultiply
	}
	return ScaleDivide
}

// hyper is the checked shape of a model.
type hyper struct {
	dim, ffn, layers, heads, kvHeads, headDim, vocab, context int
	eps, ropeBase                                             float64
	outputEps                                                 *float64
}

// limits far above real models, so a hostile config cannot make the
// loader allocate absurd buffers.
const (
	maxDim    = 1 << 16
	maxLayers = 1 << 10
	maxVocab  = 1 << 22
)

func (c *Config) hyper(arch Arch) (hyper, error) {
	h := hyper{dim: c.HiddenSize, ffn: c.IntermediateSize, layers: c.NumHiddenLayers, heads: c.NumAttentionHeads,
		vocab: c.VocabSize, context: c.MaxPositionEmbeddings}
	bad := func(field string, v any) error {
		return fmt.Errorf("config.json: %s = %v is missing or out of range: %w", field, v, errs.ErrModel)
	}
	switch {
	case h.dim <= 0 || h.dim > maxDim:
		return h, bad("hidden_size", h.dim)
	case h.ffn <= 0 || h.ffn > 1<<20:
		return h, bad("intermediate_size", h.ffn)
	case h.layers <= 0 || h.layers > maxLayers:
		return h, bad("num_hidden_layers", h.layers)
	case h.heads <= 0 || h.heads > h.dim:
		return h, bad("num_attention_heads", h.heads)
	case h.vocab < 0 || h.vocab > maxVocab:
		return h, bad("vocab_size", h.vocab)
	case h.context < 0:
		return h, bad("max_position_embeddings", h.context)
	}
	if h.context == 0 {
		h.context = 2048
	}
	h.kvHeads = h.heads
	if c.NumKeyValueHeads != nil {
		h.kvHeads = *c.NumKeyValueHeads
		if h.kvHeads <= 0 || h.heads%h.kvHeads != 0 {
			return h, bad("num_key_value_heads", h.kvHeads)
		}
	}
	h.headDim = h.dim / h.heads
	if c.HeadDim != nil {
		h.headDim = *c.HeadDim
	}
	if h.headDim <= 0 || h.headDim%2 != 0 || h.headDim*h.heads != h.dim {
		return h, fmt.Errorf("config.json: head_dim %d x %d heads != hidden_size %d, or odd (not supported): %w",
			h.headDim, h.heads, h.dim, errs.ErrUnsupported)
	}
	if c.AttentionBias || c.MLPBias {
		return h, fmt.Errorf("config.json: attention_bias / mlp_bias (biases are not supported): %w", errs.ErrUnsupported)
	}
	if c.RopeScaling != nil {
		if m, ok := c.RopeScaling.(map[string]any); !ok || (m["rope_type"] != "default" && m["type"] != "default") {
			return h, fmt.Errorf("config.json: rope_scaling %v is not supported: %w", c.RopeScaling, errs.ErrUnsupported)
		}
	}
	if c.PartialRotaryFactor != nil && *c.PartialRotaryFactor != 1 {
		return h, fmt.Errorf("config.json: partial_rotary_factor %v is not supported: %w", *c.PartialRotaryFactor, errs.ErrUnsupported)
	}
	if q := c.QuantizationConfig; q != nil {
		if q.QuantMethod != "" && q.QuantMethod != "bitnet" {
			return h, fmt.Errorf("config.json: quantization method %q is not supported (only bitnet): %w", q.QuantMethod, errs.ErrUnsupported)
		}
		if q.UseRMSNorm {
			return h, fmt.Errorf("config.json: BitLinear with use_rms_norm is not supported: %w", errs.ErrUnsupported)
		}
	}
	// transformers' defaults: LlamaConfig 1e-6, BitNetConfig 1e-5.
	h.eps = 1e-6
	if arch.BitLinear {
		h.eps = 1e-5
	}
	if c.RMSNormEps != nil {
		h.eps = *c.RMSNormEps
	}
	if c.OutputNormEps != nil {
		h.outputEps = c.OutputNormEps
	}
	for _, e := range []*float64{&h.eps, h.outputEps} {
		if e != nil && !(*e >= 0 && *e < 1) {
			return h, bad("rms_norm_eps", *e)
		}
	}
	h.ropeBase = 10000
	if c.RopeTheta != nil {
		h.ropeBase = *c.RopeTheta
		if !(h.ropeBase > 1 && h.ropeBase < 1e30) {
			return h, bad("rope_theta", h.ropeBase)
		}
	}
	return h, nil
}
