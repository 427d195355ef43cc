package quant

import (
	"math"
	"testing"
)

func TestAbsmeanTernarizeHandExample(t *testing.T) {
	// mean|w| = (0.375+0.25+0.125+0.5+1+0.625+0+0.75)/8 = 3.625/8
	w := []float32{0.375, -0.25, 0.125, -0.5, 1, 0.625, 0, -0.75}
	codes := make([]int8, len(w))
	gamma := AbsmeanTernarize(w, codes)
	if gamma != 0.453125 {
		t.Fatalf("gamma = %v, want 0.453125", gamma)
	}
	// w/gamma: 0.83, -0.55, 0.28, -1.10, 2.21, 1.38, 0, -1.66
	want := []int8{1, -1, 0, -1, 1, 1, 0, -1}
	for i := range want {
		if codes[i] != want[i] {
			t.Errorf("code %d = %d, want %d", i, codes[i], want[i])
		}
	}
}

func TestAbsmeanTernarizeTiesRoundToEven(t *testing.T) {
	// mean|w| = 8/8 = 1 exactly: ±0.5 are ties that go to 0, ±1.5 go to
	// ±2 and clamp to ±1.
	w := []float32{0.5, -0.5, 1.5, -1.5, 1, 1, 1, 1}
	codes := make([]int8, len(w))
	if g := AbsmeanTernarize(w, codes); g != 1 {
		t.Fatalf("gamma = %v, want 1", g)
	}
	want := []int8{0, 0, 1, -1, 1, 1, 1, 1}
	for i := range want {
		if codes[i] != want[i] {
			t.Errorf("code %d (w=%v) = %d, want %d", i, w[i], codes[i], want[i])
		}
	}
}

func TestAbsmeanTernarizeClampsGammaAndToleratesEmptyInput(t *testing.T) {
	w := []float32{1e-7, -1e-7, 0, 0}
	codes := make([]int8, 4)
	if g := AbsmeanTernarize(w, codes); g != float32(1e-5) {
		t.Errorf("gamma = %v, want 1e-5", g)
	}
	for i, c := range codes {
		if c != 0 {
			t.Errorf("code %d = %d, want 0", i, c)
		}
	}
	if g := AbsmeanTernarize(nil, nil); g != float32(1e-5) {
		t.Errorf("gamma of empty input = %v, want 1e-5", g)
	}
	// A short codes slice is filled as far as it goes, without panicking.
	short := make([]int8, 2)
	AbsmeanTernarize([]float32{3, -3, 3}, short)
	if short[0] != 1 || short[1] != -1 {
		t.Errorf("short codes = %v", short)
	}
}

func TestAbsmeanTernarizeMeanAccumulatesInFloat64(t *testing.T) {
	// 2^24 + 1 ones would lose the last one in a float32 running sum; a
	// smaller stand-in: many tiny values after a big one.
	w := make([]float32, 1<<20)
	w[0] = 1 << 20
	for i := 1; i < len(w); i++ {
		w[i] = 0.03125
	}
	want := float32((float64(1<<20) + float64(len(w)-1)*0.03125) / float64(len(w)))
	if g := AbsmeanTernarize(w, make([]int8, len(w))); g != want {
		t.Errorf("gamma = %v, want %v", g, want)
	}
}

func TestTernaryValuesDetectsScaledTernaryTensors(t *testing.T) {
	a := float32(0.0123)
	w := []float32{a, -a, 0, a, 0, -a}
	codes := make([]int8, len(w))
	s, ok := TernaryValues(w, codes)
	if !ok || s != a {
		t.Fatalf("TernaryValues = %v, %v; want %v, true", s, ok, a)
	}
	want := []int8{1, -1, 0, 1, 0, -1}
	for i := range want {
		if codes[i] != want[i] {
			t.Errorf("code %d = %d, want %d", i, codes[i], want[i])
		}
	}
	// Within the tolerance (one ulp off) is still ternary.
	w[3] = math.Nextafter32(a, 0)
	if _, ok := TernaryValues(w, codes); !ok {
		t.Error("one ulp off was not accepted")
	}
}

func TestTernaryValuesRejectsOtherTensors(t *testing.T) {
	for _, w := range [][]float32{
		{1, -1, 0.5},
		{1, -1, 0.999},
		{1, 1e-30},
		{1, float32(math.NaN())},
		{float32(math.Inf(1)), 0},
	} {
		codes := []int8{7, 7, 7}
		if s, ok := TernaryValues(w, codes); ok {
			t.Errorf("TernaryValues(%v) = %v, true; want false", w, s)
		}
		if codes[0] != 7 {
			t.Errorf("TernaryValues(%v) wrote codes although not ternary", w)
		}
	}
}

func TestTernaryValuesAllZeroIsTernaryWithScaleZero(t *testing.T) {
	codes := []int8{5, 5, 5}
	s, ok := TernaryValues([]float32{0, float32(math.Copysign(0, -1)), 0}, codes)
	if !ok || s != 0 {
		t.Fatalf("TernaryValues(zeros) = %v, %v; want 0, true", s, ok)
	}
	for i, c := range codes {
		if c != 0 {
			t.Errorf("code %d = %d, want 0", i, c)
		}
	}
}
