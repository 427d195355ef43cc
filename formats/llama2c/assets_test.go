package llama2c

import (
	"fmt"
	"testing"

	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
)

func openModel(t *testing.T, rel string) *Model {
	t.Helper()
	m, err := Open(testassets.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func openGGUF(t *testing.T, rel string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(testassets.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// ggufFloats decodes tensor name of f, checking its shape (ggml order).
func ggufFloats(t *testing.T, f *gguf.File, name string, dims ...uint64) []float32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("GGUF has no tensor %s", name)
	}
	if fmt.Sprint(ti.Dims) != fmt.Sprint(dims) {
		t.Fatalf("%s: GGUF dims %v, want %v", name, ti.Dims, dims)
	}
	v := make([]float32, ti.Elements())
	if err := quant.Dequantize(ti.Type, f.Data(ti), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestOpenStories260KIsLegacyWithItsHeader(t *testing.T) {
	m := openModel(t, "models/stories260K.bin")
	want := Config{Dim: 64, Hidden: 172, Layers: 5, Heads: 8, KVHeads: 4, Vocab: 512, SeqLen: 512, SharedClassifier: true}
	if m.Layout != Legacy || m.Config != want {
		t.Errorf("layout %v config %+v, want %v %+v", m.Layout, m.Config, Legacy, want)
	}
	if m.Classifier != nil || len(m.Layers) != 5 || len(m.FinalNorm) != 64 {
		t.Errorf("classifier %v, %d layers, final norm of %d", m.Classifier != nil, len(m.Layers), len(m.FinalNorm))
	}
}

func TestOpenBitllama3MIsTernaryV1WithItsHeader(t *testing.T) {
	m := openModel(t, "models/bitllama2c-3M.bin")
	want := Config{Dim: 256, Hidden: 256, Layers: 8, Heads: 8, KVHeads: 4, Vocab: 512, SeqLen: 512, SharedClassifier: true}
	if m.Layout != TernaryV1 || m.Config != want {
		t.Errorf("layout %v config %+v, want %v %+v", m.Layout, m.Config, TernaryV1, want)
	}
	L := &m.Layers[7]
	if !L.Wq.IsTernary() || !L.W2.IsTernary() || L.AttnNorm != nil || m.Embedding.IsTernary() {
		t.Errorf("ternary matrices / weightless norms / float embedding not as expected")
	}
	if L.Wk.Rows != 128 || L.Wk.Cols != 256 {
		t.Errorf("wk is %dx%d, want 128x256", L.Wk.Rows, L.Wk.Cols)
	}
}

// ggufNames maps the llama2.c matrices to GGUF tensor names.
var ggufNames = []struct{ kind, name string }{
	{"wq", "attn_q"}, {"wk", "attn_k"}, {"wv", "attn_v"}, {"wo", "attn_output"},
	{"w1", "ffn_gate"}, {"w2", "ffn_down"}, {"w3", "ffn_up"},
}

func TestStories260KTensorsEqualStories260KF32GGUF(t *testing.T) {
	m := openModel(t, "models/stories260K.bin")
	f := openGGUF(t, "gguf/stories260K-f32.gguf")
	c := m.Config
	d, v := uint64(c.Dim), uint64(c.Vocab)
	check := func(name string, got []float32, dims ...uint64) {
		t.Helper()
		if !equalBits(got, ggufFloats(t, f, name, dims...)) {
			t.Errorf("%s differs from the GGUF", name)
		}
	}
	check("token_embd.weight", m.Embedding.Float32(), d, v)
	check("output_norm.weight", m.FinalNorm, d)
	for l := range m.Layers {
		L := &m.Layers[l]
		p := fmt.Sprintf("blk.%d.", l)
		check(p+"attn_norm.weight", L.AttnNorm, d)
		check(p+"ffn_norm.weight", L.FFNNorm, d)
		for _, g := range ggufNames {
			mat := layerMatrix(L, g.kind)
			check(p+g.name+".weight", mat.Float32(), uint64(mat.Cols), uint64(mat.Rows))
		}
	}
}

// halfRow is the row of a rotate-half q/k matrix holding row r of an
// adjacent-pair one: pair (2i, 2i+1) of a head becomes (i, i+headDim/2).
func halfRow(r, headDim int) int {
	head, j := r/headDim, r%headDim
	return head*headDim + j/2 + (j%2)*(headDim/2)
}

func TestBitllamaTernaryEqualsBit3MTQ2_0TimesScale(t *testing.T) {
	m := openModel(t, "models/bitllama2c-3M.bin")
	f := openGGUF(t, "gguf/bit3M-bitnet-tq2_0.gguf")
	c := m.Config
	if !equalBits(m.Embedding.Float32(), ggufFloats(t, f, "token_embd.weight", uint64(c.Dim), uint64(c.Vocab))) {
		t.Error("embedding differs from token_embd.weight")
	}
	if !equalBits(m.FinalNorm, ggufFloats(t, f, "output_norm.weight", uint64(c.Dim))) {
		t.Error("final norm differs from output_norm.weight")
	}
	for l := range m.Layers {
		for _, g := range ggufNames {
			mat := layerMatrix(&m.Layers[l], g.kind)
			base := fmt.Sprintf("blk.%d.%s", l, g.name)
			w := ggufFloats(t, f, base+".weight", uint64(mat.Cols), uint64(mat.Rows))
			scale := ggufFloats(t, f, base+".scale", 1)[0]
			codes, gamma := mat.Ternary()
			if gamma != scale {
				t.Errorf("%s: scale %v, GGUF %v", base, gamma, scale)
			}
			rope := g.kind == "wq" || g.kind == "wk"
			for r := 0; r < mat.Rows; r++ {
				gr := r
				if rope {
					gr = halfRow(r, c.HeadDim())
				}
				for k := 0; k < mat.Cols; k++ {
					if want := w[gr*mat.Cols+k]; float32(codes[r*mat.Cols+k]) != want {
						t.Fatalf("%s: row %d col %d: code %d, GGUF (row %d) %v", base, r, k, codes[r*mat.Cols+k], gr, want)
					}
				}
			}
		}
	}
}
