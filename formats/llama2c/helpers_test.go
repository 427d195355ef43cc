package llama2c

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// This file holds the tests' own llama2.c writer: it lays out synthetic
// checkpoints of each layout byte by byte (as llama2.c's export.py and
// bitllama2c write them), remembering every value written, so that the
// tests can check that Parse finds each tensor at the right place.

// fixture is a synthetic checkpoint and the values it holds.
type fixture struct {
	cfg    Config
	layout Layout
	data   []byte
	floats map[string][]float32 // "emb", "final_norm", "cls", "attn_norm.L", "ffn_norm.L", "wq.L", ...
	codes  map[string][]int8    // ternary matrices: "wq.L", ...
	scales map[string]float32
}

// tinyConfig is a small shape with GQA and unequal dim/hidden, so that a
// swapped dimension changes sizes.
func tinyConfig(shared bool) Config {
	return Config{Dim: 8, Hidden: 12, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 10, SeqLen: 6, SharedClassifier: shared}
}

type fixtureWriter struct {
	f    *fixture
	next uint64 // tensor counter: each tensor has its own random stream
}

func (w *fixtureWriter) i32(x int) {
	w.f.data = binary.LittleEndian.AppendUint32(w.f.data, uint32(int32(x)))
}

func (w *fixtureWriter) f32s(vals []float32) {
	for _, v := range vals {
		w.f.data = binary.LittleEndian.AppendUint32(w.f.data, math.Float32bits(v))
	}
}

// floats writes n random float32 values and records them under name.
func (w *fixtureWriter) floats(name string, n int) {
	w.next++
	r := rand.New(rand.NewPCG(7, w.next))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	w.f.floats[name] = v
	w.f32s(v)
}

// ternary writes a scale and n random 2-bit codes (first weight in the
// most significant bits; 00 = 0, 01 = +1, 11 = -1), recorded under name.
func (w *fixtureWriter) ternary(name string, n int) {
	w.next++
	r := rand.New(rand.NewPCG(9, w.next))
	scale := 0.25 + r.Float32()
	codes := make([]int8, n)
	for i := range codes {
		codes[i] = int8(r.IntN(3)) - 1
	}
	w.f.codes[name], w.f.scales[name] = codes, scale
	w.f32s([]float32{scale})
	w.f.data = append(w.f.data, packCodes(codes)...)
}

// packCodes packs ternary codes as bitllama2c does.
func packCodes(codes []int8) []byte {
	out := make([]byte, (len(codes)+3)/4)
	for i, c := range codes {
		var bits byte
		switch c {
		case 1:
			bits = 0b01
		case -1:
			bits = 0b11
		}
		out[i/4] |= bits << (6 - 2*(i%4))
	}
	return out
}

// header7 writes the 7 int32 of the header; vocab is negated in legacy
// files with an unshared classifier.
func (w *fixtureWriter) header7(c Config, vocab int) {
	for _, x := range []int{c.Dim, c.Hidden, c.Layers, c.Heads, c.KVHeads, vocab, c.SeqLen} {
		w.i32(x)
	}
}

// v1Header writes the 256-byte ak42 version 1 header.
func (w *fixtureWriter) v1Header(c Config) {
	w.f.data = binary.LittleEndian.AppendUint32(w.f.data, Magic)
	w.i32(1)
	w.header7(c, c.Vocab)
	if c.SharedClassifier {
		w.f.data = append(w.f.data, 1)
	} else {
		w.f.data = append(w.f.data, 0)
	}
	w.f.data = append(w.f.data, make([]byte, 256-len(w.f.data))...)
}

func newFixture(c Config, layout Layout) (*fixture, *fixtureWriter) {
	f := &fixture{cfg: c, layout: layout, floats: map[string][]float32{}, codes: map[string][]int8{}, scales: map[string]float32{}}
	return f, &fixtureWriter{f: f}
}

// perLayer runs fn for each layer with the tensor name "<kind>.<layer>".
func perLayer(c Config, kind string, fn func(name string)) {
	for l := 0; l < c.Layers; l++ {
		fn(kind + "." + string(rune('0'+l)))
	}
}

// matrixShapes lists the linear matrices in file order with their sizes.
func matrixShapes(c Config) []struct {
	kind       string
	rows, cols int
} {
	d, h, kv := c.Dim, c.Hidden, c.KVDim()
	return []struct {
		kind       string
		rows, cols int
	}{{"wq", d, d}, {"wk", kv, d}, {"wv", kv, d}, {"wo", d, d}, {"w1", h, d}, {"w2", d, h}, {"w3", h, d}}
}

// legacyFixture lays out a legacy file as llama2.c's legacy_export does:
// embedding, attention norms, wq, wk, wv, wo, ffn norms, w1, w2, w3, final
// norm, the two RoPE tables (seq_len x head_dim/2 each), classifier.
func legacyFixture(c Config) *fixture {
	f, w := newFixture(c, Legacy)
	vocab := c.Vocab
	if !c.SharedClassifier {
		vocab = -vocab
	}
	w.header7(c, vocab)
	w.floats("emb", c.Vocab*c.Dim)
	perLayer(c, "attn_norm", func(n string) { w.floats(n, c.Dim) })
	for _, m := range matrixShapes(c)[:4] {
		perLayer(c, m.kind, func(n string) { w.floats(n, m.rows*m.cols) })
	}
	perLayer(c, "ffn_norm", func(n string) { w.floats(n, c.Dim) })
	for _, m := range matrixShapes(c)[4:] {
		perLayer(c, m.kind, func(n string) { w.floats(n, m.rows*m.cols) })
	}
	w.floats("final_norm", c.Dim)
	w.floats("rope_cos", c.SeqLen*c.HeadDim()/2)
	w.floats("rope_sin", c.SeqLen*c.HeadDim()/2)
	if !c.SharedClassifier {
		w.floats("cls", c.Vocab*c.Dim)
	}
	return f
}

// float32V1Fixture lays out an ak42 version 1 float32 file as export.py
// --version 1 does: header, attention norms, ffn norms, final norm,
// embedding, wq, wk, wv, wo, w1, w2, w3 (all layers each), classifier if
// unshared.
func float32V1Fixture(c Config) *fixture {
	f, w := newFixture(c, Float32V1)
	w.v1Header(c)
	perLayer(c, "attn_norm", func(n string) { w.floats(n, c.Dim) })
	perLayer(c, "ffn_norm", func(n string) { w.floats(n, c.Dim) })
	w.floats("final_norm", c.Dim)
	w.floats("emb", c.Vocab*c.Dim)
	for _, m := range matrixShapes(c) {
		perLayer(c, m.kind, func(n string) { w.floats(n, m.rows*m.cols) })
	}
	if !c.SharedClassifier {
		w.floats("cls", c.Vocab*c.Dim)
	}
	return f
}

// ternaryV1Fixture lays out a bitllama2c file: header, final norm,
// embedding, then each matrix kind for all layers as scale + codes.
func ternaryV1Fixture(c Config) *fixture {
	f, w := newFixture(c, TernaryV1)
	w.v1Header(c)
	w.floats("final_norm", c.Dim)
	w.floats("emb", c.Vocab*c.Dim)
	for _, m := range matrixShapes(c) {
		perLayer(c, m.kind, func(n string) { w.ternary(n, m.rows*m.cols) })
	}
	return f
}

// layerMatrix returns the matrix of kind ("wq", ...) in L.
func layerMatrix(L *Layer, kind string) *Matrix {
	return map[string]*Matrix{"wq": &L.Wq, "wk": &L.Wk, "wv": &L.Wv, "wo": &L.Wo, "w1": &L.W1, "w2": &L.W2, "w3": &L.W3}[kind]
}

// equalBits reports whether two float32 slices hold the same bits.
func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// checkFixture compares a parsed model with the values the fixture wrote.
func checkFixture(t *testing.T, f *fixture, m *Model) {
	t.Helper()
	c := f.cfg
	if m.Layout != f.layout {
		t.Errorf("layout = %v, want %v", m.Layout, f.layout)
	}
	if m.Config != c {
		t.Errorf("config = %+v, want %+v", m.Config, c)
	}
	if len(m.Layers) != c.Layers {
		t.Fatalf("%d layers, want %d", len(m.Layers), c.Layers)
	}
	if m.Embedding.Rows != c.Vocab || m.Embedding.Cols != c.Dim || m.Embedding.IsTernary() {
		t.Errorf("embedding is %dx%d (ternary %v), want float %dx%d", m.Embedding.Rows, m.Embedding.Cols, m.Embedding.IsTernary(), c.Vocab, c.Dim)
	}
	if !equalBits(m.Embedding.Float32(), f.floats["emb"]) {
		t.Errorf("embedding values differ from those written")
	}
	if !equalBits(m.FinalNorm, f.floats["final_norm"]) {
		t.Errorf("final norm differs from the one written")
	}
	switch {
	case c.SharedClassifier && m.Classifier != nil:
		t.Errorf("shared classifier, but Classifier is set")
	case !c.SharedClassifier && m.Classifier == nil:
		t.Errorf("unshared classifier, but Classifier is nil")
	case !c.SharedClassifier && !equalBits(m.Classifier.Float32(), f.floats["cls"]):
		t.Errorf("classifier values differ from those written")
	}
	for l := range m.Layers {
		L := &m.Layers[l]
		suffix := "." + string(rune('0'+l))
		if f.layout == TernaryV1 {
			if L.AttnNorm != nil || L.FFNNorm != nil {
				t.Errorf("layer %d: ternary files have weightless norms, got %d and %d values", l, len(L.AttnNorm), len(L.FFNNorm))
			}
		} else {
			if !equalBits(L.AttnNorm, f.floats["attn_norm"+suffix]) {
				t.Errorf("layer %d: attention norm differs", l)
			}
			if !equalBits(L.FFNNorm, f.floats["ffn_norm"+suffix]) {
				t.Errorf("layer %d: ffn norm differs", l)
			}
		}
		for _, s := range matrixShapes(c) {
			mat := layerMatrix(L, s.kind)
			name := s.kind + suffix
			if mat.Rows != s.rows || mat.Cols != s.cols {
				t.Errorf("%s: shape %dx%d, want %dx%d", name, mat.Rows, mat.Cols, s.rows, s.cols)
			}
			if f.layout != TernaryV1 {
				if mat.IsTernary() || !equalBits(mat.Float32(), f.floats[name]) {
					t.Errorf("%s: values differ from those written", name)
				}
				continue
			}
			codes, scale := mat.Ternary()
			want := f.codes[name]
			if !mat.IsTernary() || scale != f.scales[name] || len(codes) != len(want) {
				t.Errorf("%s: ternary %v, scale %v, %d codes; want true, %v, %d", name, mat.IsTernary(), scale, len(codes), f.scales[name], len(want))
				continue
			}
			vals := mat.Float32()
			for i := range want {
				if codes[i] != want[i] || vals[i] != float32(want[i])*scale {
					t.Errorf("%s: weight %d = code %d (value %v), want %d", name, i, codes[i], vals[i], want[i])
					break
				}
			}
		}
	}
}
