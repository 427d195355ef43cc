package convert

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/llama2c"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
)

// writeParse writes w into memory and parses the result back.
func writeParse(t *testing.T, w *gguf.Writer) (*gguf.File, []byte) {
	t.Helper()
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("parse the written file: %v", err)
	}
	return f, buf.Bytes()
}

func openLlama2c(t *testing.T, rel string) *llama2c.Model {
	t.Helper()
	m, err := llama2c.Open(testassets.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
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

func tok512(t *testing.T) *Vocab {
	t.Helper()
	v, err := LoadVocab(testassets.Path(t, "models/tok512.model"), 512)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tensor returns the named tensor of f, failing the test when absent.
func tensor(t *testing.T, f *gguf.File, name string) *gguf.TensorInfo {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	return ti
}

// floats decodes a tensor of f.
func floats(t *testing.T, f *gguf.File, name string) []float32 {
	t.Helper()
	ti := tensor(t, f, name)
	v := make([]float32, ti.Elements())
	if err := quant.Dequantize(ti.Type, f.Data(ti), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// ternaryOf returns the codes and scale of a ternary weight of f: the I2_S
// tail scale, or TQ codes (block scale 1) times the ".scale" tensor, or
// float values divided by the ".scale" tensor.
func ternaryOf(t *testing.T, f *gguf.File, base string) ([]int8, float32) {
	t.Helper()
	w := tensor(t, f, base+".weight")
	codes := make([]int8, w.Elements())
	if w.Type == quant.I2_S {
		s, err := quant.UnpackI2S(f.Data(w), codes)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if _, ok := f.Tensor(base + ".scale"); ok {
			t.Errorf("%s: I2_S weight with a .scale tensor", base)
		}
		return codes, s
	}
	vals := floats(t, f, base+".weight")
	for i, v := range vals {
		switch v {
		case -1, 0, 1:
			codes[i] = int8(v)
		default:
			t.Fatalf("%s: element %d = %v is not a code -1, 0, +1", base, i, v)
		}
	}
	return codes, floats(t, f, base+".scale")[0]
}

// metaString renders a metadata value for comparisons.
func metaString(t *testing.T, f *gguf.File, key string) string {
	t.Helper()
	v, ok := f.Metadata.Get(key)
	if !ok {
		t.Errorf("metadata %s missing", key)
		return ""
	}
	return fmt.Sprintf("%v:%v", v.Type, v.Data())
}

// maxAbsDiff is the largest |a[i] - b[i]|.
func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func maxAbs(a []float32) float64 {
	m := 0.0
	for _, x := range a {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// halfRow is the row of a rotate-half q/k matrix holding row r of an
// adjacent-pair one: pair (2i, 2i+1) of a head becomes (i, i+headDim/2).
func halfRow(r, headDim int) int {
	head, j := r/headDim, r%headDim
	return head*headDim + j/2 + (j%2)*(headDim/2)
}
