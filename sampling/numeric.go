package sampling

import (
	"fmt"
	"math"

	"github.com/bitnet-dev/bitnet/errs"
)

var (
	negInf = float32(math.Inf(-1))
	posInf = float32(math.Inf(1))
)

// Argmax returns the index of the largest logit.
//
// NaN counts as -inf; ties go to the lowest index; a +inf logit is the
// largest value, so the first +inf wins. If the slice is empty it returns an
// error wrapping errs.ErrInvalidArgument; if every logit is -inf or NaN it
// returns an error wrapping errs.ErrNumeric.
func Argmax(logits []float32) (int32, error) {
	if err := checkLen(logits); err != nil {
		return 0, err
	}
	best, at := negInf, -1
	for i, v := range logits {
		if v > best { // false for NaN and for -inf
			best, at = v, i
		}
	}
	if at < 0 {
		return 0, errNoFinite(len(logits))
	}
	return int32(at), nil
}

// Softmax writes the softmax of logits into out, which must have the same
// length (out may be logits itself).
//
// It subtracts the maximum before exponentiating and sums in float64, so it
// is stable for any finite logits. NaN counts as -inf and gets probability 0.
// +inf is the limit of a growing logit: when any logit is +inf, the +inf
// entries share the whole mass equally and every other entry gets 0. If no
// logit is finite or +inf, it returns an error wrapping errs.ErrNumeric and
// leaves out unspecified.
func Softmax(logits []float32, out []float32) error {
	if err := checkLen(logits); err != nil {
		return err
	}
	if len(out) != len(logits) {
		return fmt.Errorf("softmax: output length %d, want %d: %w", len(out), len(logits), errs.ErrInvalidArgument)
	}
	top := negInf
	for _, v := range logits {
		if v > top {
			top = v
		}
	}
	switch top {
	case negInf:
		return errNoFinite(len(logits))
	case posInf:
		n := 0
		for _, v := range logits {
			if v == posInf {
				n++
			}
		}
		share := 1 / float32(n)
		for i, v := range logits {
			if v == posInf {
				out[i] = share
			} else {
				out[i] = 0
			}
		}
		return nil
	}
	m := float64(top)
	var sum float64
	for i, v := range logits {
		e := 0.0
		if v > negInf { // NaN and -inf get 0
			e = math.Exp(float64(v) - m)
		}
		sum += e
		out[i] = float32(e)
	}
	inv := 1 / sum // sum >= 1: the maximum contributes exp(0)
	for i := range out {
		out[i] = float32(float64(out[i]) * inv)
	}
	return nil
}

// checkLen rejects an empty logits vector and one too long for int32 ids.
func checkLen(logits []float32) error {
	if len(logits) == 0 {
		return fmt.Errorf("sampling: empty logits: %w", errs.ErrInvalidArgument)
	}
	if int64(len(logits)) > math.MaxInt32 {
		return fmt.Errorf("sampling: %d logits exceed the int32 token id range: %w", len(logits), errs.ErrInvalidArgument)
	}
	return nil
}

func errNoFinite(n int) error {
	return fmt.Errorf("sampling: no finite logit among %d: %w", n, errs.ErrNumeric)
}
