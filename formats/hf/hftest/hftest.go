// Package hftest writes Hugging Face model folders from llama2.c
// checkpoints, for tests: the float stories260K as LlamaForCausalLM, the
// ternary bitllama2c-3M as BitNetForCausalLM or BitnetForCausalLM with
// float, bfloat16 or packed ternary weights, in one file or in shards.
package hftest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/llama2c"
	"github.com/bitnet-dev/bitnet/formats/safetensors"
)

// Variant says how a checkpoint is written.
type Variant struct {
	// Arch is the config.json architecture: LlamaForCausalLM (float
	// checkpoints), BitNetForCausalLM or BitnetForCausalLM (ternary ones).
	Arch string
	// Weights is the linear layers' storage: "f32", "bf16" (both hold
	// codes times scale), or "packed" (uint8 [out/4, in] + weight_scale).
	Weights string
	// LinearClass of a packed checkpoint: "autobitlinear" (weight_scale
	// multiplies: it is the scale) or "bitlinear" (it divides: it is
	// 1/scale).
	LinearClass string
	// Shards > 1 splits the weights into that many files and an index.
	Shards int
	// SingleEps leaves out hf.KeyOutputNormEps: config.json then carries
	// one epsilon, rms_norm_eps, for every norm.
	SingleEps bool
	// Eps overrides rms_norm_eps of a ternary checkpoint (default 0, the
	// reference's block norms).
	Eps *float64
	// Jitter adds deterministic noise of up to ±0.2 times the scale to
	// float ternary weights, so that they are master weights that need
	// absmean ternarization rather than ternary values.
	Jitter bool
}

// WriteLlama2c writes the llama2.c checkpoint at modelPath as a Hugging
// Face folder dir (created) with config.json, the weights and tokenizer
// (copied to tokenizer.model when it is a SentencePiece model).
func WriteLlama2c(dir, modelPath, tokenizerPath string, v Variant) error {
	m, err := llama2c.Open(modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ternary := m.Layout == llama2c.TernaryV1
	if ternary == (v.Arch == "LlamaForCausalLM") {
		return fmt.Errorf("hftest: %s checkpoint as %s: %w", m.Layout, v.Arch, errs.ErrInvalidArgument)
	}
	c := m.Config
	cfg := map[string]any{
		"architectures":           []string{v.Arch},
		"hidden_size":             c.Dim,
		"intermediate_size":       c.Hidden,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"max_position_embeddings": c.SeqLen,
		"vocab_size":              c.Vocab,
		"rms_norm_eps":            1e-5,
		"rope_theta":              10000.0,
		"hidden_act":              "silu",
		"tie_word_embeddings":     m.Classifier == nil,
		"bos_token_id":            1,
		"eos_token_id":            2,
		"torch_dtype":             "float32",
	}
	w := &shardWriter{n: max(v.Shards, 1)}
	dtype := safetensors.F32
	switch v.Arch {
	case "LlamaForCausalLM":
		cfg["model_type"] = "llama"
		err = writeLlama(w, m)
	case "BitNetForCausalLM", "BitnetForCausalLM":
		cfg["model_type"] = "bitnet"
		eps := 0.0
		if v.Eps != nil {
			eps = *v.Eps
		}
		cfg["rms_norm_eps"] = eps
		if !v.SingleEps {
			cfg[hf.KeyOutputNormEps] = 1e-5
		}
		switch v.Weights {
		case "packed":
			cfg["quantization_config"] = map[string]any{"quant_method": "bitnet", "linear_class": v.LinearClass, "quantization_mode": "offline"}
		case "bf16":
			dtype = safetensors.BF16
			cfg["torch_dtype"] = "bfloat16"
			cfg["quantization_config"] = map[string]any{"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "online"}
		case "f32":
		default:
			return fmt.Errorf("hftest: weights %q: %w", v.Weights, errs.ErrInvalidArgument)
		}
		err = writeBitnet(w, m, v, dtype)
	default:
		return fmt.Errorf("hftest: architecture %q: %w", v.Arch, errs.ErrInvalidArgument)
	}
	if err != nil {
		return err
	}
	if err := w.write(dir); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, hf.ConfigFile), b, 0o644); err != nil {
		return err
	}
	if tokenizerPath != "" {
		tb, err := os.ReadFile(tokenizerPath)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), tb, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeLlama(w *shardWriter, m *llama2c.Model) error {
	c := m.Config
	w.floats("model.embed_tokens.weight", safetensors.F32, []uint64{uint64(c.Vocab), uint64(c.Dim)}, m.Embedding.Float32())
	w.floats("model.norm.weight", safetensors.F32, []uint64{uint64(c.Dim)}, m.FinalNorm)
	if m.Classifier != nil {
		w.floats("lm_head.weight", safetensors.F32, []uint64{uint64(c.Vocab), uint64(c.Dim)}, m.Classifier.Float32())
	}
	for l := range m.Layers {
		L := &m.Layers[l]
		p := fmt.Sprintf("model.layers.%d.", l)
		w.floats(p+"input_layernorm.weight", safetensors.F32, []uint64{uint64(c.Dim)}, L.AttnNorm)
		w.floats(p+"post_attention_layernorm.weight", safetensors.F32, []uint64{uint64(c.Dim)}, L.FFNNorm)
		for _, mt := range projections(L) {
			vals := mt.mat.Float32()
			if mt.rope {
				vals = hf.InterleavedToHalf(vals, mt.mat.Rows, mt.mat.Cols, c.HeadDim())
			}
			w.floats(p+mt.name+".weight", safetensors.F32, []uint64{uint64(mt.mat.Rows), uint64(mt.mat.Cols)}, vals)
		}
	}
	return w.err
}

type projection struct {
	name string
	mat  *llama2c.Matrix
	rope bool
}

func projections(L *llama2c.Layer) []projection {
	return []projection{
		{"self_attn.q_proj", &L.Wq, true}, {"self_attn.k_proj", &L.Wk, true}, {"self_attn.v_proj", &L.Wv, false},
		{"self_attn.o_proj", &L.Wo, false}, {"mlp.gate_proj", &L.W1, false}, {"mlp.down_proj", &L.W2, false},
		{"mlp.up_proj", &L.W3, false},
	}
}

// writeBitnet writes bitllama2c's weights: its weightless norms become
// constant weights 1/n (the reference divides by n once more), its q/k
// rows are reordered to rotate-half pairing.
func writeBitnet(w *shardWriter, m *llama2c.Model, v Variant, dtype safetensors.DType) error {
	c := m.Config
	constant := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = 1 / float32(n)
		}
		return out
	}
	attnSub, ffnSub := "self_attn.attn_sub_norm.weight", "mlp.ffn_sub_norm.weight"
	if v.Arch == "BitnetForCausalLM" {
		attnSub, ffnSub = "self_attn.inner_attn_ln.weight", "mlp.ffn_layernorm.weight"
	}
	w.floats("model.embed_tokens.weight", safetensors.F32, []uint64{uint64(c.Vocab), uint64(c.Dim)}, m.Embedding.Float32())
	w.floats("model.norm.weight", safetensors.F32, []uint64{uint64(c.Dim)}, m.FinalNorm)
	for l := range m.Layers {
		L := &m.Layers[l]
		p := fmt.Sprintf("model.layers.%d.", l)
		w.floats(p+"input_layernorm.weight", safetensors.F32, []uint64{uint64(c.Dim)}, constant(c.Dim))
		w.floats(p+"post_attention_layernorm.weight", safetensors.F32, []uint64{uint64(c.Dim)}, constant(c.Dim))
		w.floats(p+attnSub, safetensors.F32, []uint64{uint64(c.Dim)}, constant(c.Dim))
		w.floats(p+ffnSub, safetensors.F32, []uint64{uint64(c.Hidden)}, constant(c.Hidden))
		for _, mt := range projections(L) {
			codes, scale := mt.mat.Ternary()
			rows, cols := mt.mat.Rows, mt.mat.Cols
			if mt.rope {
				codes = interleavedToHalfCodes(codes, rows, cols, c.HeadDim())
			}
			if v.Weights == "packed" {
				if rows%hf.PackedRowsPerByte != 0 {
					return fmt.Errorf("hftest: %s: %d rows cannot be packed: %w", mt.name, rows, errs.ErrInvalidArgument)
				}
				w.add(p+mt.name+".weight", safetensors.U8, []uint64{uint64(rows / 4), uint64(cols)}, hf.PackTernary(codes, rows, cols))
				ws := scale
				if v.LinearClass == "bitlinear" {
					ws = float32(1 / float64(scale))
				}
				w.floats(p+mt.name+".weight_scale", safetensors.F32, []uint64{1}, []float32{ws})
				continue
			}
			vals := make([]float32, len(codes))
			for i, x := range codes {
				vals[i] = float32(x) * scale
			}
			if v.Jitter {
				seed := uint32(2463534242 + l*7 + len(mt.name))
				for i := range vals {
					seed ^= seed << 13
					seed ^= seed >> 17
					seed ^= seed << 5
					vals[i] += (float32(seed)/float32(math.MaxUint32)*2 - 1) * 0.2 * scale
				}
			}
			w.floats(p+mt.name+".weight", dtype, []uint64{uint64(rows), uint64(cols)}, vals)
		}
	}
	return w.err
}

func interleavedToHalfCodes(codes []int8, rows, cols, headDim int) []int8 {
	f := make([]float32, len(codes))
	for i, x := range codes {
		f[i] = float32(x)
	}
	f = hf.InterleavedToHalf(f, rows, cols, headDim)
	out := make([]int8, len(f))
	for i, x := range f {
		out[i] = int8(math.Round(float64(x)))
	}
	return out
}

// shardWriter spreads tensors over n files, round-robin by order added.
type shardWriter struct {
	n     int
	ws    []*safetensors.Writer
	where map[string]int
	count int
	err   error
}

func (s *shardWriter) add(name string, d safetensors.DType, shape []uint64, data []byte) {
	if s.err != nil {
		return
	}
	if s.ws == nil {
		s.where = map[string]int{}
		for range s.n {
			s.ws = append(s.ws, safetensors.NewWriter())
		}
	}
	i := s.count % s.n
	s.count++
	s.where[name] = i
	s.err = s.ws[i].Add(name, d, shape, data)
}

func (s *shardWriter) floats(name string, d safetensors.DType, shape []uint64, vals []float32) {
	b, err := safetensors.EncodeFloat32(d, vals)
	if err != nil && s.err == nil {
		s.err = err
	}
	s.add(name, d, shape, b)
}

func (s *shardWriter) write(dir string) error {
	if s.err != nil {
		return s.err
	}
	if s.n == 1 {
		return s.ws[0].WriteFile(filepath.Join(dir, "model.safetensors"))
	}
	names := make([]string, s.n)
	for i, w := range s.ws {
		w.Metadata = map[string]string{"format": "pt"}
		names[i] = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, s.n)
		if err := w.WriteFile(filepath.Join(dir, names[i])); err != nil {
			return err
		}
	}
	wm := map[string]string{}
	for name, i := range s.where {
		wm[name] = names[i]
	}
	b, err := json.MarshalIndent(map[string]any{"metadata": map[string]any{}, "weight_map": wm}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), b, 0o644)
}
