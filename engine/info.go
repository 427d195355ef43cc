package engine

import (
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/quant"
)

// Info describes a loaded model (the seed API's ModelInfo).
type Info struct {
	Name         string `json:"name"`
	Architecture string `json:"architecture"`
	Path         string `json:"path,omitempty"`
	// Parameters counts the elements of every tensor in the file.
	Parameters uint64 `json:"num_parameters"`
	// FileSize is the size of the model file in bytes.
	FileSize uint64 `json:"model_size"`
	// WeightType is the type of most of the linear-layer weights as used
	// by the kernels (float ternary weights of BitNet models show as I2_S,
	// the layout they are repacked into).
	WeightType string `json:"weight_type"`
	// BitsPerWeight is the storage cost of the linear-layer weights.
	BitsPerWeight float64 `json:"bits_per_weight"`
	// TensorTypes counts the file's tensors by type.
	TensorTypes map[string]int `json:"tensor_types"`
	Ternary     bool           `json:"ternary"`
	Backend     string         `json:"backend"`
	Threads     int            `json:"threads"`
	Context     int            `json:"context_length"`
}

func newInfo(m *Model) Info {
	f := m.file
	name, _ := f.Metadata.String("general.name")
	info := Info{
		Name:         name,
		Architecture: m.Hyper.Arch,
		FileSize:     f.Size,
		TensorTypes:  map[string]int{},
		Backend:      m.backend.Name(),
		Threads:      m.backend.Threads(),
		Context:      m.ctxLen,
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		info.Parameters += t.Elements()
		info.TensorTypes[t.Type.String()]++
	}
	// Weighted by element count over the linear layers.
	count := map[quant.Type]uint64{}
	var bitsSum float64
	var n uint64
	for l := range m.layers {
		L := &m.layers[l]
		for _, w := range []*kernels.Matrix{L.wq, L.wk, L.wv, L.wo, L.gate, L.up, L.down} {
			e := uint64(w.Rows) * uint64(w.Cols)
			count[w.Type] += e
			n += e
			bitsSum += float64(e) * bitsPerWeight(w.Type, e)
		}
	}
	best := quant.F32
	for t, c := range count {
		if c > count[best] || (c == count[best] && t < best) {
			best = t
		}
	}
	info.WeightType = best.String()
	info.Ternary = kernels.IsTernary(best)
	if n > 0 {
		info.BitsPerWeight = bitsSum / float64(n)
	}
	return info
}

func bitsPerWeight(t quant.Type, n uint64) float64 {
	if t == quant.I2_S {
		return (float64(n)/4 + quant.I2STail) * 8 / float64(n)
	}
	if i, ok := quant.Lookup(t); ok {
		return i.BitsPerWeight()
	}
	return 0
}

// TensorSummary is one row of a model's tensor table.
type TensorSummary struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Shape []uint64 `json:"shape"`
	Bytes uint64   `json:"bytes"`
}

// Tensors lists the tensors of a GGUF file, ordered as in the file.
func Tensors(f *gguf.File) []TensorSummary {
	out := make([]TensorSummary, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		out[i] = TensorSummary{Name: t.Name, Type: t.Type.String(), Shape: t.Dims, Bytes: t.Size}
	}
	return out
}
