package quant

import "math"

// BitNet b1.58 weight ternarization.

// minGamma is the lower clamp of the absmean scale.
const minGamma = 1e-5

// ternaryRelTol is how far (relative to the largest magnitude a) a nonzero
// value may be from ±a for TernaryValues to accept it: 2^-20, about eight
// float32 ulps, enough for values that went through a cast but far below
// any real quantization step.
const ternaryRelTol = 1.0 / (1 << 20)

// ternaryCode is clamp(round_half_even(w/scale), -1, 1) computed in
// float32, and 0 for a zero scale or a NaN quotient.
func ternaryCode(w, scale float32) int8 {
	if scale == 0 {
		return 0
	}
	v := w / scale
	switch {
	case v > 0.5:
		return 1
	case v < -0.5:
		return -1
	}
	return 0 // includes ±0.5 (ties to even) and NaN
}

// absmeanGamma is mean|w| computed in float64, rounded to float32 and
// clamped to at least 1e-5 (a NaN mean stays NaN). An empty w gives 1e-5.
func absmeanGamma(w []float32) float32 {
	if len(w) == 0 {
		return minGamma
	}
	var sum float64
	for _, v := range w {
		sum += math.Abs(float64(v))
	}
	g := float32(sum / float64(len(w)))
	if g < minGamma {
		g = minGamma
	}
	return g
}

// AbsmeanTernarize quantizes weights as BitNet b1.58 does: gamma = mean|w|
// (accumulated in float64, clamped to >= 1e-5), codes =
// clamp(round_half_even(w/gamma), -1, 1) with the quotient taken in
// float32. Hugging Face's reference multiplies by 1/gamma instead, which
// can differ on exact ties. It fills codes[i] for i < min(len(w),
// len(codes)); callers pass equal lengths. NaN weights make gamma NaN and
// get code 0.
func AbsmeanTernarize(w []float32, codes []int8) (gamma float32) {
	gamma = absmeanGamma(w)
	n := min(len(w), len(codes))
	for i, v := range w[:n] {
		codes[i] = ternaryCode(v, gamma)
	}
	return gamma
}

// ternaryScale reports whether every value of w is 0 or ±a for one a > 0
// (within ternaryRelTol of a, the largest magnitude) and returns a. An
// all-zero (or empty) w is ternary with scale 0. NaN or Inf is never
// ternary.
func ternaryScale(w []float32) (float32, bool) {
	var a float32
	for _, v := range w {
		av := absf(v)
		if av != av || math.IsInf(float64(av), 0) {
			return 0, false
		}
		a = max(a, av)
	}
	if a == 0 {
		return 0, true
	}
	tol := a * ternaryRelTol
	for _, v := range w {
		if av := absf(v); av != 0 && a-av > tol {
			return 0, false
		}
	}
	return a, true
}

// TernaryValues detects a ternary-valued float tensor: every value is 0 or
// ±a for one a > 0, nonzero magnitudes agreeing with the largest one to a
// relative 2^-20. When it is, it returns scale a and ok, and fills codes
// (-1, 0, +1) for i < min(len(w), len(codes)). An all-zero (or empty)
// tensor counts as ternary with scale 0 and all codes 0. Tensors holding
// NaN or Inf are not ternary. When ok is false codes is left untouched.
func TernaryValues(w []float32, codes []int8) (scale float32, ok bool) {
	scale, ok = ternaryScale(w)
	if !ok {
		return 0, false
	}
	n := min(len(w), len(codes))
	for i, v := range w[:n] {
		codes[i] = ternaryCode(v, scale)
	}
	return scale, true
}
