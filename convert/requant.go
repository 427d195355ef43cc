package convert

import (
	"fmt"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

// FromGGUF builds a writer holding the model of f with its linear layers in
// opts.Type (see the package policy). Metadata is copied; general.file_type
// is updated. The writer reads f's tensor data when it is written: keep f
// open until then.
func FromGGUF(f *gguf.File, opts Options) (*gguf.Writer, error) {
	arch := f.Architecture()
	bitLinear := isBitLinearArch(arch)
	w := gguf.NewWriter()
	for _, kv := range f.Metadata.Entries() {
		if kv.Key == gguf.KeyAlignment {
			continue
		}
		w.Metadata.Set(kv.Key, kv.Value)
	}
	if err := w.SetAlignment(f.Alignment); err != nil {
		return nil, err
	}
	if err := w.Set("general.file_type", fileType(opts.Type)); err != nil {
		return nil, err
	}
	if opts.Name != "" {
		if err := w.Set("general.name", opts.Name); err != nil {
			return nil, err
		}
	}
	b := &builder{w: w, opts: opts}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		switch {
		case isLinear(t.Name):
			if err := b.requantLinear(f, t, bitLinear); err != nil {
				return nil, err
			}
		case strings.HasSuffix(t.Name, ".scale") && isLinear(strings.TrimSuffix(t.Name, ".scale")+".weight"):
			// Written with its weight: dropped when folded into I2_S,
			// rewritten for TQ types, copied for float targets.
			if !IsTernaryType(opts.Type) {
				b.copyTensor(f, t)
			}
		case isEmbedding(t.Name):
			et := embedType(t.Type, opts)
			if et == t.Type {
				b.copyTensor(f, t)
				continue
			}
			if len(t.Dims) != 2 {
				return nil, fmt.Errorf("%s: shape %v is not a matrix: %w", t.Name, t.Dims, errs.ErrModel)
			}
			if err := checkSource(t); err != nil {
				return nil, err
			}
			b.matrix(t.Name, et, int(t.Dims[1]), int(t.Dims[0]), dequantizer(f, t))
		default:
			b.copyTensor(f, t)
		}
		if b.err != nil {
			return nil, b.err
		}
	}
	return w, b.err
}

// checkSource verifies that tensor t can be decoded.
func checkSource(t *gguf.TensorInfo) error {
	if info, ok := quant.Lookup(t.Type); !ok || !info.CanDequantize() {
		return fmt.Errorf("%s: cannot read weight type %v: %w", t.Name, t.Type, errs.ErrUnsupported)
	}
	return nil
}

// dequantizer returns a function decoding tensor t of f to float32.
func dequantizer(f *gguf.File, t *gguf.TensorInfo) func() []float32 {
	return func() []float32 {
		v := make([]float32, t.Elements())
		// Checked before the writer was built (checkSource).
		_ = quant.Dequantize(t.Type, f.Data(t), v)
		return v
	}
}

func (b *builder) copyTensor(f *gguf.File, t *gguf.TensorInfo) {
	b.add(t.Name, t.Type, t.Dims, func(dst []byte) error { copy(dst, f.Data(t)); return nil })
}

func (b *builder) requantLinear(f *gguf.File, t *gguf.TensorInfo, bitLinear bool) error {
	if len(t.Dims) != 2 {
		return fmt.Errorf("%s: shape %v is not a matrix: %w", t.Name, t.Dims, errs.ErrModel)
	}
	if err := checkSource(t); err != nil {
		return err
	}
	rows, cols := int(t.Dims[1]), int(t.Dims[0])
	target := b.opts.Type
	if err := checkTarget(target, t.Name, rows, cols); err != nil {
		return err
	}
	if !IsTernaryType(target) {
		b.matrix(t.Name, target, rows, cols, dequantizer(f, t))
		return b.err
	}
	base := strings.TrimSuffix(t.Name, ".weight")
	srcScale := float32(1)
	if st, ok := f.Tensor(base + ".scale"); ok {
		v := make([]float32, 1)
		if st.Elements() != 1 || quant.Dequantize(st.Type, f.Data(st), v) != nil {
			return fmt.Errorf("%s.scale: not a scalar float tensor: %w", base, errs.ErrModel)
		}
		srcScale = v[0]
	}
	// The weight is written before its scale tensor, so the scale found
	// while encoding the weight is ready when the scale is written.
	var gamma float32
	dims := []uint64{uint64(cols), uint64(rows)}
	b.add(t.Name, target, dims, func(dst []byte) error {
		codes, a, err := ternarize(t.Name, dequantizer(f, t)(), bitLinear)
		if err != nil {
			return err
		}
		gamma = a * srcScale
		data, _, err := encodeTernary(target, codes, gamma, rows, cols)
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
