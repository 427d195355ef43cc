package quant

import "math"

// minActMax is the lower clamp of a token row's largest magnitude.
const minActMax = 1e-5

// QuantizeActivations quantizes one token row as BitNet b1.58 does
// (per-token absmax int8): s = 127 / max(max|x|, 1e-5) and q[i] =
// clamp(round_half_even(x[i]*s), -128, 127), where s and the product x[i]*s
// are float32 (the product is rounded to float32 before rounding to an
// integer). It returns s, so a linear layer computes y = dot(codes, q) / s
// * gamma, and the sum of q (for kernels storing codes as 0..2). It fills
// q[i] for i < min(len(x), len(q)); callers pass equal lengths. NaN inputs
// give 0 and do not affect s; an infinite input makes s zero. It does not
// allocate.
func QuantizeActivations(x []float32, q []int8) (s float32, sum int32) {
	var amax float32
	for _, v := range x {
		if a := absf(v); a > amax {
			amax = a
		}
	}
	s = 127 / max(amax, minActMax)
	n := min(len(x), len(q))
	for i, v := range x[:n] {
		r := math.RoundToEven(float64(v * s))
		var c int8
		switch {
		case r >= 127:
			c = 127
		case r <= -128:
			c = -128
		case r == r:
			c = int8(r)
		}
		q[i] = c
		sum += int32(c)
	}
	return s, sum
}
