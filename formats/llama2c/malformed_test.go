package llama2c

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
)

// parseNoPanic runs Parse, turning a panic into a test failure.
func parseNoPanic(t *testing.T, what string, b []byte) (m *Model, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: Parse panicked: %v", what, r)
		}
	}()
	return Parse(b)
}

func allFixtures() map[string]*fixture {
	return map[string]*fixture{
		"legacy shared":       legacyFixture(tinyConfig(true)),
		"legacy unshared":     legacyFixture(tinyConfig(false)),
		"float32 v1 shared":   float32V1Fixture(tinyConfig(true)),
		"float32 v1 unshared": float32V1Fixture(tinyConfig(false)),
		"ternary v1":          ternaryV1Fixture(tinyConfig(true)),
	}
}

func TestParseEveryTruncationIsAFormatError(t *testing.T) {
	for name, f := range allFixtures() {
		for n := 0; n < len(f.data); n++ {
			m, err := parseNoPanic(t, name, f.data[:n])
			if err == nil {
				t.Fatalf("%s truncated to %d of %d bytes: parsed as %v", name, n, len(f.data), m.Layout)
			}
			if !errors.Is(err, errs.ErrFormat) {
				t.Fatalf("%s truncated to %d bytes: error %q does not wrap ErrFormat", name, n, err)
			}
		}
	}
}

func TestParseTrailingBytesAreAFormatError(t *testing.T) {
	for name, f := range allFixtures() {
		b := append(append([]byte(nil), f.data...), 0, 0, 0, 0)
		_, err := parseNoPanic(t, name, b)
		testutil.WantErr(t, name+" + 4 bytes", err, errs.ErrFormat)
	}
}

func TestParseTruncationErrorNamesTheTensor(t *testing.T) {
	f := legacyFixture(tinyConfig(false))
	// Cut inside the classifier, the last tensor.
	_, err := Parse(f.data[:len(f.data)-5])
	testutil.WantErr(t, "legacy without classifier tail", err, errs.ErrFormat, "classifier", "truncated")
	f = ternaryV1Fixture(tinyConfig(true))
	_, err = Parse(f.data[:300])
	testutil.WantErr(t, "ternary cut in the embedding", err, errs.ErrFormat, "neither")
}

// header field offsets (in int32 words) inside the 7-word header.
const (
	hDim = iota
	hHidden
	hLayers
	hHeads
	hKVHeads
	hVocab
	hSeqLen
)

func withHeader(b []byte, base, word int, v int32) []byte {
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(out[base+4*word:], uint32(v))
	return out
}

func TestParseHeaderValuesOutOfRangeAreFormatErrors(t *testing.T) {
	cases := []struct {
		name  string
		word  int
		v     int32
		words []string
	}{
		{"zero dim", hDim, 0, []string{"dim"}},
		{"negative dim", hDim, -8, []string{"dim"}},
		{"huge dim", hDim, 1 << 30, []string{"dim"}},
		{"zero hidden", hHidden, 0, []string{"hidden_dim"}},
		{"negative hidden", hHidden, -1, []string{"hidden_dim"}},
		{"zero layers", hLayers, 0, []string{"n_layers"}},
		{"negative layers", hLayers, -2, []string{"n_layers"}},
		{"huge layers", hLayers, math.MaxInt32, []string{"n_layers"}},
		{"zero heads", hHeads, 0, []string{"n_heads"}},
		{"negative heads", hHeads, -4, []string{"n_heads"}},
		{"heads above dim", hHeads, 16, []string{"n_heads"}},
		{"heads not dividing dim", hHeads, 3, []string{"dim 8", "3 heads"}},
		{"odd head size", hHeads, 8, []string{"head"}}, // head size 1: RoPE needs pairs
		{"zero kv heads", hKVHeads, 0, []string{"n_kv_heads"}},
		{"kv heads above heads", hKVHeads, 8, []string{"n_kv_heads"}},
		{"kv heads not dividing heads", hKVHeads, 3, []string{"3 KV heads"}},
		{"zero vocab", hVocab, 0, []string{"vocab_size"}},
		{"min int32 vocab", hVocab, math.MinInt32, []string{"vocab_size"}},
		{"zero seq_len", hSeqLen, 0, []string{"seq_len"}},
		{"negative seq_len", hSeqLen, -512, []string{"seq_len"}},
	}
	layouts := []struct {
		name string
		f    *fixture
		base int
	}{
		{"legacy", legacyFixture(tinyConfig(true)), 0},
		{"float32 v1", float32V1Fixture(tinyConfig(true)), 8},
		{"ternary v1", ternaryV1Fixture(tinyConfig(true)), 8},
	}
	for _, l := range layouts {
		for _, c := range cases {
			b := withHeader(l.f.data, l.base, c.word, c.v)
			_, err := parseNoPanic(t, l.name+" "+c.name, b)
			testutil.WantErr(t, l.name+": "+c.name, err, errs.ErrFormat, c.words...)
		}
	}
}

func TestParseV1NegativeVocabIsAFormatError(t *testing.T) {
	f := float32V1Fixture(tinyConfig(true))
	_, err := parseNoPanic(t, "v1 negative vocab", withHeader(f.data, 8, hVocab, -10))
	testutil.WantErr(t, "v1 negative vocab", err, errs.ErrFormat, "vocab_size")
}

func TestParseV1SharedClassifierFlagMustBeZeroOrOne(t *testing.T) {
	f := float32V1Fixture(tinyConfig(true))
	b := append([]byte(nil), f.data...)
	b[36] = 7
	_, err := parseNoPanic(t, "flag 7", b)
	testutil.WantErr(t, "shared_classifier flag 7", err, errs.ErrFormat, "shared_classifier")
}

func TestParseTernaryUntiedClassifierIsAFormatError(t *testing.T) {
	f := ternaryV1Fixture(tinyConfig(true))
	b := append([]byte(nil), f.data...)
	b[36] = 0
	_, err := parseNoPanic(t, "ternary untied", b)
	testutil.WantErr(t, "ternary file with shared_classifier 0", err, errs.ErrFormat, "shared_classifier")
}

func TestParseTernaryInvalidCode10IsAFormatError(t *testing.T) {
	f := ternaryV1Fixture(tinyConfig(true))
	c := f.cfg
	// The first wk code byte of layer 1: header, final norm, embedding,
	// all wq (scale + codes), all wk of layer 0, the scale of layer 1.
	q := 4 + c.Dim*c.Dim/4
	k := 4 + c.KVDim()*c.Dim/4
	off := 256 + 4*c.Dim + 4*c.Vocab*c.Dim + c.Layers*q + k + 4
	for _, shift := range []uint{0, 2, 4, 6} {
		b := append([]byte(nil), f.data...)
		b[off] = b[off]&^(3<<shift) | 2<<shift
		_, err := parseNoPanic(t, "code 10", b)
		testutil.WantErr(t, "code 10", err, errs.ErrFormat, "layer 1 wk", "10")
	}
}

func TestParseTernaryBadScaleIsAFormatError(t *testing.T) {
	f := ternaryV1Fixture(tinyConfig(true))
	off := 256 + 4*f.cfg.Dim + 4*f.cfg.Vocab*f.cfg.Dim // scale of layer 0 wq
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), -1} {
		b := append([]byte(nil), f.data...)
		binary.LittleEndian.PutUint32(b[off:], math.Float32bits(v))
		_, err := parseNoPanic(t, "bad scale", b)
		testutil.WantErr(t, "scale "+strings.TrimSpace(strings.ToLower(fmtFloat(v))), err, errs.ErrFormat, "layer 0 wq", "scale")
	}
}

func fmtFloat(v float32) string {
	switch {
	case math.IsNaN(float64(v)):
		return "NaN"
	case math.IsInf(float64(v), 1):
		return "+Inf"
	}
	return "negative"
}

func TestParseAk42WrongVersionIsUnsupported(t *testing.T) {
	f := float32V1Fixture(tinyConfig(true))
	for _, v := range []int32{0, 2, 3, -1} {
		b := append([]byte(nil), f.data...)
		binary.LittleEndian.PutUint32(b[4:], uint32(v))
		_, err := parseNoPanic(t, "version", b)
		testutil.WantErr(t, "ak42 version", err, errs.ErrUnsupported, "version")
	}
}

func TestParseAk42SizeMatchingNeitherLayoutIsAFormatError(t *testing.T) {
	f := float32V1Fixture(tinyConfig(true))
	// Header of a larger model in front of the same weights.
	b := withHeader(f.data, 8, hLayers, 3)
	_, err := parseNoPanic(t, "3 layers", b)
	testutil.WantErr(t, "header claiming 3 layers", err, errs.ErrFormat, "float32", "ternary", "neither")
}

func TestParseShortInputsAreFormatErrors(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 27), binary.LittleEndian.AppendUint32(nil, Magic)} {
		_, err := parseNoPanic(t, "short", b)
		testutil.WantErr(t, "short input", err, errs.ErrFormat)
	}
}

func TestLayoutStringOutOfRangeDoesNotPanic(t *testing.T) {
	if s := Layout(42).String(); !strings.Contains(s, "42") {
		t.Errorf("Layout(42).String() = %q, want the number", s)
	}
}

func TestOpenMissingFileFails(t *testing.T) {
	if _, err := Open(t.TempDir() + "/absent.bin"); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, fx := range allFixtures() {
		f.Add(fx.data)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, errs.ErrFormat) && !errors.Is(err, errs.ErrUnsupported) {
				t.Fatalf("error %q wraps neither ErrFormat nor ErrUnsupported", err)
			}
			return
		}
		// Every tensor of an accepted file decodes.
		_ = m.Embedding.Float32()
		for l := range m.Layers {
			for _, s := range matrixShapes(m.Config) {
				_ = layerMatrix(&m.Layers[l], s.kind).Float32()
			}
		}
		if m.Classifier != nil {
			_ = m.Classifier.Float32()
		}
	})
}
