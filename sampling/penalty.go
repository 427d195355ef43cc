package sampling

// ApplyRepetitionPenalty penalizes, in place, the logits of the tokens in
// history, following the CTRL paper as implemented by llama.cpp: a positive
// logit is divided by penalty, a zero or negative one multiplied by it. Each
// distinct token is penalized once however often it occurs; ids outside
// [0, len(logits)) are ignored. A penalty of 1, or one that is not positive
// and finite, leaves logits unchanged. NaN logits stay NaN.
//
// The caller picks the window (e.g. the last RepeatLastN tokens) by slicing
// history.
func ApplyRepetitionPenalty(logits []float32, history []int32, penalty float32) {
	if penalty == 1 || !finite(penalty) || penalty <= 0 {
		return
	}
	penalize(logits, history, penalty, nil)
}

// penalize applies the repetition penalty using seen, a bitset with one bit
// per vocabulary entry that is all zero on entry and on return. It returns
// seen, grown if it was too small.
func penalize(logits []float32, history []int32, penalty float32, seen []uint64) []uint64 {
	n := len(logits)
	if words := (n + 63) / 64; len(seen) < words {
		seen = make([]uint64, words)
	}
	for _, t := range history {
		if t < 0 || int(t) >= n {
			continue
		}
		w, b := t>>6, uint64(1)<<(t&63)
		if seen[w]&b != 0 {
			continue
		}
		seen[w] |= b
		if v := logits[t]; v > 0 {
			logits[t] = v / penalty
		} else {
			logits[t] = v * penalty
		}
	}
	for _, t := range history { // clear only the bits we set
		if t >= 0 && int(t) < n {
			seen[t>>6] = 0
		}
	}
	return seen
}
