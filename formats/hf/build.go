package hf

import (
	"fmt"
	"math"
	"sort"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/safetensors"
	"github.com/bitnet-dev/bitnet/formats/source"
	"github.com/bitnet-dev/bitnet/quant"
)

// builder maps a checkpoint's tensors onto GGUF names and layouts.
type builder struct {
	cfg   *Config
	arch  Arch
	h     hyper
	set   *safetensors.Set
	scale ScaleMode

	entries []entry
}

// entry is one GGUF tensor of the source: its description and a function
// producing its bytes (in place in the mapping, or computed when asked).
type entry struct {
	info  gguf.TensorInfo
	layer int
	data  func() []byte
}

// ref is a checkpoint tensor and the file holding it.
type ref struct {
	t *safetensors.Tensor
	f *safetensors.File
}

func (r ref) bytes() []byte { return r.f.Data(r.t) }

func (b *builder) build(name string) (*source.Source, error) {
	var embd, out *ref
	linears := map[string]mapped{}
	refs := map[string]ref{}
	scales := map[string]ref{} // by GGUF base name
	var vectors []mapped
	for _, n := range b.set.Names() {
		t, f, _ := b.set.Tensor(n)
		r := ref{t, f}
		m, ok := mapName(n)
		if !ok {
			return nil, fmt.Errorf("tensor %s is not part of a %s checkpoint this loader knows: %w", n, b.arch.HF, errs.ErrUnsupported)
		}
		if m.layer >= b.h.layers {
			return nil, fmt.Errorf("tensor %s: layer %d, but num_hidden_layers is %d: %w", n, m.layer, b.h.layers, errs.ErrModel)
		}
		switch m.kind {
		case kindEmbedding:
			embd = &r
		case kindOutput:
			out = &r
		case kindVector:
			refs[m.gguf] = r
			vectors = append(vectors, m)
		case kindLinear:
			refs[m.gguf] = r
			linears[m.gguf] = m
		case kindScale:
			scales[m.base] = r
		}
	}
	if embd == nil {
		return nil, fmt.Errorf("tensor model.embed_tokens.weight missing: %w", errs.ErrModel)
	}
	vocab, err := b.embedding("token_embd.weight", *embd)
	if err != nil {
		return nil, err
	}
	tied := b.cfg.TieWordEmbeddings != nil && *b.cfg.TieWordEmbeddings
	if out != nil && !tied {
		if _, err := b.embedding("output.weight", *out); err != nil {
			return nil, err
		}
	}
	for _, m := range vectors {
		if err := b.vector(m, refs[m.gguf]); err != nil {
			return nil, err
		}
	}
	for base := range scales {
		if _, ok := linears[base+".weight"]; !ok {
			return nil, fmt.Errorf("%s.weight_scale without its weight: %w", base, errs.ErrModel)
		}
	}
	for g, m := range linears {
		var sc *ref
		if r, ok := scales[m.base]; ok {
			sc = &r
		}
		if err := b.linear(m, refs[g], sc); err != nil {
			return nil, err
		}
	}
	if b.cfg.VocabSize != 0 && b.cfg.VocabSize != vocab {
		return nil, fmt.Errorf("vocab_size %d, but model.embed_tokens.weight has %d rows: %w", b.cfg.VocabSize, vocab, errs.ErrModel)
	}
	md, err := b.metadata(name, vocab)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(b.entries, func(i, j int) bool {
		if b.entries[i].layer != b.entries[j].layer {
			return b.entries[i].layer < b.entries[j].layer
		}
		return b.entries[i].info.Name < b.entries[j].info.Name
	})
	produce := make(map[string]func() []byte, len(b.entries))
	infos := make([]gguf.TensorInfo, len(b.entries))
	for i, e := range b.entries {
		infos[i] = e.info
		produce[e.info.Name] = e.data
	}
	set := b.set
	return &source.Source{
		Metadata: md,
		Tensors:  infos,
		Data: func(t *gguf.TensorInfo) []byte {
			if p, ok := produce[t.Name]; ok {
				return p()
			}
			return nil
		},
		Size:  set.Size(),
		Close: set.Close,
	}, nil
}

// metadata is the GGUF metadata of the model.
func (b *builder) metadata(name string, vocab int) (*gguf.Metadata, error) {
	h, a := b.h, b.arch.GGUF
	p := a + "."
	kvs := []struct {
		k string
		v any
	}{
		{"general.architecture", a},
		{"general.name", name},
		{p + "context_length", uint32(h.context)},
		{p + "embedding_length", uint32(h.dim)},
		{p + "block_count", uint32(h.layers)},
		{p + "feed_forward_length", uint32(h.ffn)},
		{p + "rope.dimension_count", uint32(h.headDim)},
		{p + "attention.head_count", uint32(h.heads)},
		{p + "attention.head_count_kv", uint32(h.kvHeads)},
		{p + "attention.key_length", uint32(h.headDim)},
		{p + "attention.value_length", uint32(h.headDim)},
		{p + "attention.layer_norm_rms_epsilon", float32(h.eps)},
		{p + "rope.freq_base", float32(h.ropeBase)},
		{p + "vocab_size", uint32(vocab)},
	}
	if h.outputEps != nil {
		kvs = append(kvs, struct {
			k string
			v any
		}{p + "output_norm.layer_norm_rms_epsilon", float32(*h.outputEps)})
	}
	md := gguf.NewMetadata()
	for _, kv := range kvs {
		v, err := gguf.NewValue(kv.v)
		if err != nil {
			return nil, err
		}
		md.Set(kv.k, v)
	}
	return md, nil
}

func (b *builder) add(name string, layer int, t quant.Type, dims []uint64, size uint64, data func() []byte) {
	b.entries = append(b.entries, entry{info: gguf.TensorInfo{Name: name, Dims: dims, Type: t, Size: size}, layer: layer, data: data})
}

// floatType is the GGUF type of a float dtype (F64 is narrowed to F32).
func floatType(d safetensors.DType) (quant.Type, bool) {
	switch d {
	case safetensors.F32, safetensors.F64:
		return quant.F32, true
	case safetensors.F16:
		return quant.F16, true
	case safetensors.BF16:
		return quant.BF16, true
	}
	return 0, false
}

// floatData returns the bytes of a float tensor as its GGUF type holds
// them: in place, or narrowed from F64.
func floatData(r ref) func() []byte {
	if r.t.DType != safetensors.F64 {
		return r.bytes
	}
	return func() []byte {
		v, _ := r.f.Float32s(r.t) // a float dtype, checked by the caller
		b, _ := safetensors.EncodeFloat32(safetensors.F32, v)
		return b
	}
}

func ggufSize(d safetensors.DType, n uint64) uint64 {
	if d == safetensors.F64 {
		return 4 * n
	}
	return d.Size() * n
}

// embedding maps a [vocab, dim] float matrix; it returns vocab.
func (b *builder) embedding(name string, r ref) (int, error) {
	t := r.t
	typ, ok := floatType(t.DType)
	if !ok {
		return 0, fmt.Errorf("tensor %s: dtype %s is not supported (float types only): %w", t.Name, t.DType, errs.ErrUnsupported)
	}
	if len(t.Shape) != 2 || t.Shape[1] != uint64(b.h.dim) || t.Shape[0] == 0 || t.Shape[0] > maxVocab {
		return 0, fmt.Errorf("tensor %s has shape %v, want [vocab, %d]: %w", t.Name, t.Shape, b.h.dim, errs.ErrModel)
	}
	b.add(name, -1, typ, []uint64{t.Shape[1], t.Shape[0]}, ggufSize(t.DType, t.Elements()), floatData(r))
	return int(t.Shape[0]), nil
}

// vector maps a norm weight.
func (b *builder) vector(m mapped, r ref) error {
	t := r.t
	typ, ok := floatType(t.DType)
	if !ok || len(t.Shape) != 1 {
		return fmt.Errorf("tensor %s: %s of shape %v, want a float vector: %w", t.Name, t.DType, t.Shape, errs.ErrModel)
	}
	b.add(m.gguf, m.layer, typ, []uint64{t.Shape[0]}, ggufSize(t.DType, t.Elements()), floatData(r))
	return nil
}

// shapeOf is the [rows, cols] of a projection.
func (b *builder) shapeOf(proj string) (int, int) {
	h := b.h
	kv := h.kvHeads * h.headDim
	switch proj {
	case "k", "v":
		return kv, h.dim
	case "gate", "up":
		return h.ffn, h.dim
	case "down":
		return h.dim, h.ffn
	}
	return h.dim, h.dim // q, o
}

// gamma is the scale a weight_scale stands for under the scale mode.
func (b *builder) gamma(r ref) (float32, error) {
	t := r.t
	if !t.DType.IsFloat() || t.Elements() != 1 {
		return 0, fmt.Errorf("tensor %s: %s of shape %v, want one float: %w", t.Name, t.DType, t.Shape, errs.ErrModel)
	}
	v, err := r.f.Float32s(t)
	if err != nil {
		return 0, err
	}
	ws := float64(v[0])
	if !(ws > 0) || math.IsInf(ws, 0) {
		return 0, fmt.Errorf("tensor %s is %v, want a positive finite scale: %w", t.Name, ws, errs.ErrModel)
	}
	if b.scale == ScaleDivide {
		return float32(1 / ws), nil
	}
	return float32(ws), nil
}

// linear maps a projection: float weights as they are (q/k rows permuted
// for `llama`), with a ".scale" tensor when a weight_scale goes with them;
// packed ternary weights as I2_S with the scale in the tensor's tail.
func (b *builder) linear(m mapped, r ref, scale *ref) error {
	t := r.t
	rows, cols := b.shapeOf(m.proj)
	dims := []uint64{uint64(cols), uint64(rows)}
	permute := m.rope && b.arch.PermuteQK
	hd := b.h.headDim
	if t.DType == safetensors.U8 {
		if scale == nil {
			return fmt.Errorf("tensor %s: packed ternary weight without %s.weight_scale: %w", t.Name, m.base, errs.ErrModel)
		}
		if rows%PackedRowsPerByte != 0 || len(t.Shape) != 2 || t.Shape[0] != uint64(rows/PackedRowsPerByte) || t.Shape[1] != uint64(cols) {
			return fmt.Errorf("tensor %s has shape %v, want packed [%d/4, %d]: %w", t.Name, t.Shape, rows, cols, errs.ErrModel)
		}
		if (rows*cols)%quant.I2SBlock != 0 {
			return fmt.Errorf("tensor %s: %d weights are not a multiple of %d: %w", t.Name, rows*cols, quant.I2SBlock, errs.ErrUnsupported)
		}
		if err := checkPacked(r.bytes(), t.Name); err != nil {
			return err
		}
		gamma, err := b.gamma(*scale)
		if err != nil {
			return err
		}
		n := rows * cols
		b.add(m.gguf, m.layer, quant.I2_S, dims, uint64(n/4+quant.I2STail), func() []byte {
			codes := UnpackTernary(r.bytes(), rows, cols)
			if permute {
				codes = bytesCodes(halfToInterleaved(codesBytes(codes), rows, cols, hd))
			}
			dst := make([]byte, n/4+quant.I2STail)
			_ = quant.PackI2S(codes, gamma, dst) // sizes checked above
			return dst
		})
		return nil
	}
	typ, ok := floatType(t.DType)
	if !ok {
		return fmt.Errorf("tensor %s: dtype %s is not supported for a linear layer (float types, or packed U8 ternary): %w", t.Name, t.DType, errs.ErrUnsupported)
	}
	if len(t.Shape) != 2 || t.Shape[0] != uint64(rows) || t.Shape[1] != uint64(cols) {
		return fmt.Errorf("tensor %s has shape %v, want [%d, %d]: %w", t.Name, t.Shape, rows, cols, errs.ErrModel)
	}
	data := floatData(r)
	if permute {
		plain := data
		rowBytes := int(ggufSize(t.DType, uint64(cols)))
		data = func() []byte { return halfToInterleaved(plain(), rows, rowBytes, hd) }
	}
	b.add(m.gguf, m.layer, typ, dims, ggufSize(t.DType, t.Elements()), data)
	if scale != nil {
		gamma, err := b.gamma(*scale)
		if err != nil {
			return err
		}
		v, _ := safetensors.EncodeFloat32(safetensors.F32, []float32{gamma})
		b.add(m.base+".scale", m.layer, quant.F32, []uint64{1}, 4, func() []byte { return v })
	}
	return nil
}
