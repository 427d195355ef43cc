package quant

import "math"

// Rounding helpers shared by the codecs. ggml's reference quantizers use
// three different roundings, and bit-exactness depends on using the right
// one in each place:
//
//   - roundf / lroundf (C): round half away from zero (Q8_0, TQ1_0, TQ2_0);
//   - (int8_t)(x + 8.5f) and friends: truncation after adding a bias (Q4_0,
//     Q4_1);
//   - nearest_int (ggml-quants.c): the float32 "magic number" trick, which
//     rounds half to even for |x| < 2^22 (Q6_K).
//
// Products that feed an addition are wrapped in float32(...) so that the
// compiler cannot fuse them into an FMA on architectures that have one; the
// C references round every operation separately.

// roundAway rounds half away from zero, like C's roundf.
func roundAway(x float32) float32 {
	return float32(math.Round(float64(x)))
}

// clampInt converts an already rounded (or truncated) float to an integer
// in [lo, hi]. NaN becomes zero clamped into the range, so hostile inputs
// give deterministic bytes instead of the implementation-defined result of
// converting NaN to an integer.
func clampInt(x float32, lo, hi int32) int32 {
	switch {
	case x != x:
		return max(lo, min(hi, 0))
	case x <= float32(lo):
		return lo
	case x >= float32(hi):
		return hi
	}
	return int32(x)
}

// nearestInt is ggml's nearest_int: add 1.5 * 2^23 so that the float32
// addition rounds to an integer (half to even) and read the integer from the
// mantissa. Like the original it is only meaningful for |x| <= 4194303.
func nearestInt(x float32) int32 {
	v := x + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// absf is |x| for float32 without a round trip through float64.
func absf(x float32) float32 {
	return math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
}
