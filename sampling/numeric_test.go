package sampling

import (
	"errors"
	"math"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

var (
	nan32  = float32(math.NaN())
	inf32  = float32(math.Inf(1))
	ninf32 = float32(math.Inf(-1))
)

func TestArgmaxPicksLargestWithLowestIndexOnTies(t *testing.T) {
	cases := []struct {
		logits []float32
		want   int32
	}{
		{[]float32{1, 3, 2}, 1},
		{[]float32{5, 5, 5}, 0},
		{[]float32{-1, 4, 0, 4}, 1},
		{[]float32{-3, -2, -2}, 1},
		{[]float32{ninf32, -1e30}, 1},
	}
	for _, tc := range cases {
		got, err := Argmax(tc.logits)
		if err != nil || got != tc.want {
			t.Errorf("Argmax(%v) = %d, %v; want %d", tc.logits, got, err, tc.want)
		}
	}
}

func TestArgmaxTreatsNaNAsNegativeInfinity(t *testing.T) {
	for _, logits := range [][]float32{
		{nan32, -5, nan32},
		{-5, nan32, -7},
		{nan32, ninf32, -5},
	} {
		got, err := Argmax(logits)
		if err != nil {
			t.Fatalf("Argmax(%v): %v", logits, err)
		}
		if logits[got] != -5 {
			t.Errorf("Argmax(%v) = %d, want the index of -5", logits, got)
		}
	}
}

func TestArgmaxFirstPlusInfWins(t *testing.T) {
	got, err := Argmax([]float32{1e38, inf32, nan32, inf32})
	if err != nil || got != 1 {
		t.Fatalf("Argmax = %d, %v; want 1", got, err)
	}
}

func TestArgmaxWithoutFiniteLogitIsErrNumeric(t *testing.T) {
	for _, logits := range [][]float32{{nan32}, {nan32, nan32}, {ninf32, ninf32}, {nan32, ninf32}} {
		if _, err := Argmax(logits); !errors.Is(err, errs.ErrNumeric) {
			t.Errorf("Argmax(%v) error = %v, want ErrNumeric", logits, err)
		}
	}
	if _, err := Argmax(nil); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Argmax(nil) error = %v, want ErrInvalidArgument", err)
	}
}

func TestSoftmaxMatchesFloat64Reference(t *testing.T) {
	logits := randomLogits(3, 1000, 4, false)
	out := make([]float32, len(logits))
	if err := Softmax(logits, out); err != nil {
		t.Fatal(err)
	}
	want := softmax64(logits, 1)
	var sum float64
	for i := range out {
		sum += float64(out[i])
		if d := math.Abs(float64(out[i]) - want[i]); d > 1e-6*want[i]+1e-12 {
			t.Fatalf("p[%d] = %g, want %g", i, out[i], want[i])
		}
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

func TestSoftmaxIsStableForHugeLogits(t *testing.T) {
	logits := []float32{1000, 1001, -3e38, 3e38, 3e38}
	out := make([]float32, len(logits))
	if err := Softmax(logits, out); err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0, 0, 0.5, 0.5}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("Softmax(%v) = %v, want %v", logits, out, want)
		}
	}
	logits = []float32{1000, 1001}
	if err := Softmax(logits, out[:2]); err != nil {
		t.Fatal(err)
	}
	if p := 1 / (1 + math.E); math.Abs(float64(out[0])-p) > 1e-6 {
		t.Errorf("Softmax([1000 1001])[0] = %v, want %v", out[0], p)
	}
}

func TestSoftmaxGivesNaNZeroProbability(t *testing.T) {
	logits := []float32{0, nan32, 0, ninf32}
	out := make([]float32, len(logits))
	if err := Softmax(logits, out); err != nil {
		t.Fatal(err)
	}
	want := []float32{0.5, 0, 0.5, 0}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("Softmax(%v) = %v, want %v", logits, out, want)
		}
	}
}

func TestSoftmaxPlusInfEntriesShareMassEqually(t *testing.T) {
	logits := []float32{inf32, 3e38, nan32, inf32, inf32, inf32}
	out := make([]float32, len(logits))
	if err := Softmax(logits, out); err != nil {
		t.Fatal(err)
	}
	want := []float32{0.25, 0, 0, 0.25, 0.25, 0.25}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("Softmax(%v) = %v, want %v", logits, out, want)
		}
	}
}

func TestSoftmaxWorksInPlace(t *testing.T) {
	logits := []float32{1, 2, 3}
	want := softmax64(logits, 1)
	if err := Softmax(logits, logits); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(float64(logits[i])-want[i]) > 1e-7 {
			t.Fatalf("in-place Softmax = %v, want %v", logits, want)
		}
	}
}

func TestSoftmaxErrors(t *testing.T) {
	if err := Softmax([]float32{nan32, ninf32}, make([]float32, 2)); !errors.Is(err, errs.ErrNumeric) {
		t.Errorf("all NaN/-inf: error = %v, want ErrNumeric", err)
	}
	if err := Softmax([]float32{1, 2}, make([]float32, 3)); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("length mismatch: error = %v, want ErrInvalidArgument", err)
	}
	if err := Softmax(nil, nil); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("empty: error = %v, want ErrInvalidArgument", err)
	}
}
