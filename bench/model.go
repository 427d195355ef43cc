package bench

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

// RandomModel describes a model file of random ternary weights of a named
// shape (convert.Shapes), written for benchmarks.
type RandomModel struct {
	Shape     string     `json:"shape"`
	Type      quant.Type `json:"-"`
	EmbedType quant.Type `json:"-"`
	Seed      uint64     `json:"seed"`
	// Arch, when not empty, replaces the shape's architecture: "bitnet"
	// (SiLU gate, the graph upstream llama.cpp runs) or "bitnet-b1.58"
	// (squared-ReLU gate, BitNet b1.58 2B-4T). The two graphs cost the
	// same; only the gate's elementwise function differs.
	Arch string `json:"arch,omitempty"`
}

// RandomArchs are the architectures a random model may be written as.
var RandomArchs = []string{"bitnet", "bitnet-b1.58"}

// keyRandom is the metadata key recording what a random model file holds,
// so a kept file is reused only for the same request.
const keyRandom = "bench.random_model"

func (r RandomModel) describe() string {
	return fmt.Sprintf("shape=%s type=%v embed=%v seed=%d arch=%s", r.Shape, r.Type, r.EmbedType, r.Seed, r.Arch)
}

// WriteRandomModel writes the random model r to path.
func WriteRandomModel(path string, r RandomModel) error {
	if r.Arch != "" && !slices.Contains(RandomArchs, r.Arch) {
		return fmt.Errorf("random model: architecture %q (want one of %v): %w", r.Arch, RandomArchs, errs.ErrInvalidArgument)
	}
	et := r.EmbedType
	w, err := convert.Random(r.Shape, r.Seed, convert.Options{Type: r.Type, EmbedType: &et, Name: "random-" + r.Shape})
	if err != nil {
		return err
	}
	if err := renameArch(w, r.Arch); err != nil {
		return err
	}
	if err := w.Set(keyRandom, r.describe()); err != nil {
		return err
	}
	return w.WriteFile(path)
}

// renameArch moves the "<arch>." metadata keys of w to arch (no-op for "").
func renameArch(w *gguf.Writer, arch string) error {
	old, ok := w.Metadata.String("general.architecture")
	if !ok {
		return fmt.Errorf("random model has no general.architecture: %w", errs.ErrInternal)
	}
	if arch == "" || arch == old {
		return nil
	}
	var keys []string
	for _, kv := range w.Metadata.Entries() {
		if strings.HasPrefix(kv.Key, old+".") {
			keys = append(keys, kv.Key)
		}
	}
	for _, k := range keys {
		v, _ := w.Metadata.Get(k)
		w.Metadata.Delete(k)
		w.Metadata.Set(arch+"."+strings.TrimPrefix(k, old+"."), v)
	}
	return w.Set("general.architecture", arch)
}

// IsRandomModel reports whether the file at path is the random model r
// (written by WriteRandomModel with the same parameters).
func IsRandomModel(path string, r RandomModel) bool {
	if !gguf.IsGGUF(path) {
		return false
	}
	f, err := gguf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	s, _ := f.Metadata.String(keyRandom)
	return s == r.describe()
}

// TokenBytes is what decoding one token reads from the model's weights:
// every linear matrix, the output head, and one row of the embedding.
// KV-cache reads (which grow with the position) and the norm vectors are
// left out.
type TokenBytes struct {
	Linear         uint64 `json:"linear_bytes"`
	LinearElements uint64 `json:"linear_weights"`
	Head           uint64 `json:"output_head_bytes"`
	HeadType       string `json:"output_head_type"`
	HeadTied       bool   `json:"output_head_tied"`
	EmbedRow       uint64 `json:"embedding_row_bytes"`
	EmbedType      string `json:"embedding_type"`
	Total          uint64 `json:"total_bytes"`
}

var linearName = regexp.MustCompile(`^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$`)

// DecodeBytes computes the bytes one decoded token reads from m's weights.
// Linear layers count at the storage cost the kernels use
// (m.Info.BitsPerWeight: float ternary weights repacked as I2_S count as
// I2_S); the output head and the embedding count as stored in the file.
func DecodeBytes(m *engine.Model) TokenBytes {
	f := m.Source()
	var tb TokenBytes
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if linearName.MatchString(t.Name) {
			tb.LinearElements += t.Elements()
		}
	}
	tb.Linear = uint64(math.Round(float64(tb.LinearElements) * m.Info.BitsPerWeight / 8))
	if e, ok := f.Tensor("token_embd.weight"); ok && len(e.Dims) == 2 && e.Dims[1] > 0 {
		tb.EmbedRow = e.Size / e.Dims[1]
		tb.EmbedType = e.Type.String()
		tb.Head, tb.HeadType, tb.HeadTied = e.Size, e.Type.String(), true
	}
	if o, ok := f.Tensor("output.weight"); ok {
		tb.Head, tb.HeadType, tb.HeadTied = o.Size, o.Type.String(), false
	}
	tb.Total = tb.Linear + tb.Head + tb.EmbedRow
	return tb
}
