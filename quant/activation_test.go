package quant

import (
	"math"
	"testing"
)

func TestQuantizeActivationsHandRow(t *testing.T) {
	// max|x| = 2: s = 63.5. x*s: 127, -63.5 (tie -> -64), 31.75 -> 32,
	// 0.5*63.5/63.5 = 0.5 (tie -> 0), 1.5 (tie -> 2), -127.
	x := []float32{2, -1, 0.5, 0.5 / 63.5, 1.5 / 63.5, -2}
	q := make([]int8, len(x))
	s, sum := QuantizeActivations(x, q)
	if s != 63.5 {
		t.Fatalf("s = %v, want 63.5", s)
	}
	want := []int8{127, -64, 32, 0, 2, -127}
	var wantSum int32
	for i := range want {
		wantSum += int32(want[i])
		if q[i] != want[i] {
			t.Errorf("q[%d] = %d (x*s = %v), want %d", i, q[i], x[i]*s, want[i])
		}
	}
	if sum != wantSum {
		t.Errorf("sum = %d, want %d", sum, wantSum)
	}
}

func TestQuantizeActivationsRoundsTheFloat32Product(t *testing.T) {
	// x*s is rounded to float32 before rounding to an integer. Find an x
	// where that differs from rounding the exact product: the float32
	// product lands on a tie that the exact product does not.
	s := float32(127) / 3
	var v float32
	for c := float32(0.01); c < 3; c = math.Nextafter32(c, 4) {
		if math.RoundToEven(float64(c*s)) != math.RoundToEven(float64(c)*float64(s)) {
			v = c
			break
		}
	}
	if v == 0 {
		t.Fatal("no value separates the two roundings")
	}
	q := make([]int8, 2)
	QuantizeActivations([]float32{3, v}, q)
	if want := int8(math.RoundToEven(float64(v * s))); q[1] != want {
		t.Errorf("x = %v: q = %d, want %d (exact product %v)", v, q[1], want, float64(v)*float64(s))
	}
}

func TestQuantizeActivationsZeroRowAndTinyRowUseMinimumRange(t *testing.T) {
	q := make([]int8, 4)
	s, sum := QuantizeActivations(make([]float32, 4), q)
	if s != 127/float32(1e-5) || sum != 0 {
		t.Errorf("zero row: s = %v, sum = %d", s, sum)
	}
	s, _ = QuantizeActivations([]float32{1e-6, -1e-6, 0, 0}, q)
	if s != 127/float32(1e-5) || q[0] != 13 || q[1] != -13 {
		t.Errorf("tiny row: s = %v, q = %v (want 12.7 -> 13)", s, q)
	}
}

func TestQuantizeActivationsNonFiniteInputsDoNotPanic(t *testing.T) {
	q := make([]int8, 3)
	s, _ := QuantizeActivations([]float32{float32(math.NaN()), 1, -0.5}, q)
	if s != 127 || q[0] != 0 || q[1] != 127 || q[2] != -64 {
		t.Errorf("NaN row: s = %v, q = %v", s, q)
	}
	s, _ = QuantizeActivations([]float32{float32(math.Inf(1)), 1, 0}, q)
	if s != 0 || q[0] != 0 || q[1] != 0 {
		t.Errorf("Inf row: s = %v, q = %v", s, q)
	}
	QuantizeActivations([]float32{1, 2, 3}, q[:1]) // short q: no panic
}

func TestQuantizeActivationsDoesNotAllocate(t *testing.T) {
	x := lcgValues(2560, 1, 20)
	q := make([]int8, len(x))
	if n := testing.AllocsPerRun(10, func() { QuantizeActivations(x, q) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}
