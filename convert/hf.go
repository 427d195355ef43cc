package convert

import (
	"fmt"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/source"
	"github.com/bitnet-dev/bitnet/quant"
)

// FromHF builds a GGUF writer for a Hugging Face model opened with hf.Open:
// its architecture (`llama`, `bitnet`, `bitnet-b1.58`), shape and tensors
// under GGUF names (q/k rows of LlamaForCausalLM already permuted to the
// `llama` pairing), the linear layers in opts.Type (package policy; a
// BitNet model's layers are ternarized, exactly when they are
// ternary-valued, and written as codes plus scale for float targets), norms
// as F32, and the tokenizer of the folder (tokenizer.model, else a
// byte-level BPE tokenizer.json) when it has one. The writer reads m's
// weights when it is written: keep m open until then.
func FromHF(m *hf.Model, opts Options) (*gguf.Writer, error) {
	src := m.Source
	arch := m.Arch.GGUF
	w := gguf.NewWriter()
	for _, kv := range src.Metadata.Entries() {
		w.Metadata.Set(kv.Key, kv.Value)
	}
	if err := w.Set("general.file_type", fileType(opts.Type)); err != nil {
		return nil, err
	}
	if err := w.Set("general.quantization_version", uint32(2)); err != nil {
		return nil, err
	}
	if opts.Name != "" {
		if err := w.Set("general.name", opts.Name); err != nil {
			return nil, err
		}
	}
	vocab, _ := src.Metadata.Uint(arch + ".vocab_size")
	if err := addFolderVocab(w, m.Dir, int(vocab)); err != nil {
		return nil, err
	}
	b := &builder{w: w, opts: opts}
	for i := range src.Tensors {
		t := &src.Tensors[i]
		switch {
		case isLinear(t.Name):
			if err := b.sourceLinear(src, t, m.Arch.BitLinear); err != nil {
				return nil, err
			}
		case strings.HasSuffix(t.Name, ".scale") && isLinear(strings.TrimSuffix(t.Name, ".scale")+".weight"):
			// Written with its weight.
		case isEmbedding(t.Name):
			et := embedType(t.Type, opts)
			if et == t.Type {
				b.add(t.Name, t.Type, t.Dims, copier(src, t))
				continue
			}
			if len(t.Dims) != 2 {
				return nil, fmt.Errorf("%s: shape %v is not a matrix: %w", t.Name, t.Dims, errs.ErrModel)
			}
			b.matrix(t.Name, et, int(t.Dims[1]), int(t.Dims[0]), sourceFloats(src, t))
		default:
			if t.Type == quant.F32 {
				b.add(t.Name, t.Type, t.Dims, copier(src, t))
			} else {
				vals := sourceFloats(src, t)
				b.add(t.Name, quant.F32, t.Dims, func(dst []byte) error { return quant.Quantize(quant.F32, vals(), dst) })
			}
		}
		if b.err != nil {
			return nil, b.err
		}
	}
	return w, b.err
}

func copier(src *source.Source, t *gguf.TensorInfo) func(dst []byte) error {
	return func(dst []byte) error {
		d := src.Data(t)
		if len(d) != len(dst) {
			return fmt.Errorf("%s: %d bytes, want %d: %w", t.Name, len(d), len(dst), errs.ErrModel)
		}
		copy(dst, d)
		return nil
	}
}

// sourceFloats returns a function decoding a float tensor of src.
func sourceFloats(src *source.Source, t *gguf.TensorInfo) func() []float32 {
	return func() []float32 {
		v := make([]float32, t.Elements())
		// Float types of an hf source always decode.
		_ = quant.Dequantize(t.Type, src.Data(t), v)
		return v
	}
}

// sourceLinear writes a linear layer of src in the target type.
func (b *builder) sourceLinear(src *source.Source, t *gguf.TensorInfo, bitLinear bool) error {
	if len(t.Dims) != 2 {
		return fmt.Errorf("%s: shape %v is not a matrix: %w", t.Name, t.Dims, errs.ErrModel)
	}
	rows, cols := int(t.Dims[1]), int(t.Dims[0])
	target := b.opts.Type
	if err := checkTarget(target, t.Name, rows, cols); err != nil {
		return err
	}
	base := strings.TrimSuffix(t.Name, ".weight")
	srcScale := float32(1)
	if st, ok := src.Tensor(base + ".scale"); ok {
		v := make([]float32, 1)
		if st.Elements() != 1 || quant.Dequantize(st.Type, src.Data(st), v) != nil {
			return fmt.Errorf("%s.scale: not a scalar float tensor: %w", base, errs.ErrModel)
		}
		srcScale = v[0]
	}
	packed := t.Type == quant.I2_S
	if !packed && !bitLinear && !IsTernaryType(target) {
		// A float `llama` layer stays float.
		b.matrix(t.Name, target, rows, cols, sourceFloats(src, t))
		if srcScale != 1 {
			b.scalar(base+".scale", srcScale)
		}
		return b.err
	}
	// Ternary: codes and the scale gamma, found when the weight is written
	// (before its ".scale" tensor).
	var gamma float32
	codes := func() ([]int8, error) {
		if packed {
			c := make([]int8, rows*cols)
			s, err := quant.UnpackI2S(src.Data(t), c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			gamma = s * srcScale
			return c, nil
		}
		c, a, err := ternarize(t.Name, sourceFloats(src, t)(), bitLinear)
		gamma = a * srcScale
		return c, err
	}
	dims := []uint64{uint64(cols), uint64(rows)}
	if IsTernaryType(target) {
		b.add(t.Name, target, dims, func(dst []byte) error {
			c, err := codes()
			if err != nil {
				return err
			}
			data, _, err := encodeTernary(target, c, gamma, rows, cols)
			if err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			copy(dst, data)
			return nil
		})
		if target != quant.I2_S {
			b.add(base+".scale", quant.F32, []uint64{1}, func(dst []byte) error {
				return quant.Quantize(quant.F32, []float32{gamma}, dst)
			})
		}
		return b.err
	}
	// Float targets: the codes as values (exact in every float type) and
	// the scale as a ".scale" tensor.
	b.add(t.Name, target, dims, func(dst []byte) error {
		c, err := codes()
		if err != nil {
			return err
		}
		v := make([]float32, len(c))
		for i, x := range c {
			v[i] = float32(x)
		}
		return quant.Quantize(target, v, dst)
	})
	b.add(base+".scale", quant.F32, []uint64{1}, func(dst []byte) error {
		return quant.Quantize(quant.F32, []float32{gamma}, dst)
	})
	return b.err
}
