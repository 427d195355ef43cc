package llama2c

import (
	"testing"
)

func TestParseLegacySharedClassifierFindsEveryTensor(t *testing.T) {
	f := legacyFixture(tinyConfig(true))
	m, err := Parse(f.data)
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, f, m)
}

func TestParseLegacyNegativeVocabReadsUnsharedClassifier(t *testing.T) {
	f := legacyFixture(tinyConfig(false))
	m, err := Parse(f.data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Vocab != 10 || m.Config.SharedClassifier {
		t.Errorf("vocab %d shared %v, want 10 (the absolute value) and false", m.Config.Vocab, m.Config.SharedClassifier)
	}
	checkFixture(t, f, m)
}

func TestParseFloat32V1FindsEveryTensor(t *testing.T) {
	for _, shared := range []bool{true, false} {
		f := float32V1Fixture(tinyConfig(shared))
		m, err := Parse(f.data)
		if err != nil {
			t.Fatalf("shared %v: %v", shared, err)
		}
		checkFixture(t, f, m)
	}
}

func TestParseTernaryV1DecodesCodesAndScales(t *testing.T) {
	f := ternaryV1Fixture(tinyConfig(true))
	m, err := Parse(f.data)
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, f, m)
}

func TestTernaryCodeBitsFollowBitllama2c(t *testing.T) {
	// One byte: weights +1, -1, 0, +1 from the most significant bits.
	m := Matrix{Rows: 1, Cols: 4, ternary: true, raw: []byte{0b01_11_00_01}, scale: 0.5}
	codes, scale := m.Ternary()
	want := []int8{1, -1, 0, 1}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes = %v, want %v", codes, want)
		}
	}
	if scale != 0.5 {
		t.Errorf("scale = %v, want 0.5", scale)
	}
	if v := m.Float32(); v[0] != 0.5 || v[1] != -0.5 || v[2] != 0 || v[3] != 0.5 {
		t.Errorf("values = %v, want [0.5 -0.5 0 0.5]", v)
	}
}

func TestHeadDimAndKVDim(t *testing.T) {
	c := tinyConfig(true)
	if c.HeadDim() != 2 || c.KVDim() != 4 {
		t.Errorf("head dim %d, kv dim %d; want 2 and 4", c.HeadDim(), c.KVDim())
	}
}

func TestLayoutStringsNameEachLayout(t *testing.T) {
	seen := map[string]bool{}
	for _, l := range []Layout{Legacy, Float32V1, TernaryV1} {
		s := l.String()
		if s == "" || seen[s] {
			t.Errorf("layout %d: name %q empty or repeated", int(l), s)
		}
		seen[s] = true
	}
}

func TestMatrixScaleIsTheTernaryScale(t *testing.T) {
	f := ternaryV1Fixture(tinyConfig(true))
	m, err := Parse(f.data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Layers[1].W2.Scale(), f.scales["w2.1"]; got != want {
		t.Errorf("Scale() = %v, want %v", got, want)
	}
	if s := m.Embedding.Scale(); s != 0 {
		t.Errorf("float matrix Scale() = %v, want 0", s)
	}
}

func TestTernaryOfAFloatMatrixIsEmpty(t *testing.T) {
	f := legacyFixture(tinyConfig(true))
	m, err := Parse(f.data)
	if err != nil {
		t.Fatal(err)
	}
	if codes, scale := m.Layers[0].Wq.Ternary(); codes != nil || scale != 0 {
		t.Errorf("Ternary() of a float matrix = %d codes, scale %v; want nil, 0", len(codes), scale)
	}
}
