package sampling

import (
	"math"
	"testing"
)

func TestRepetitionPenaltyDividesPositiveAndMultipliesNegativeOncePerToken(t *testing.T) {
	logits := []float32{2, -2, 0, 4, 1.5, 3}
	// Token 0 and 1 repeat; -1 and 99 are out of range; 3 and 5 are absent.
	history := []int32{0, 1, 1, 0, -1, 99, 4, 1}
	ApplyRepetitionPenalty(logits, history, 2)
	want := []float32{1, -4, 0, 4, 0.75, 3}
	for i := range want {
		if logits[i] != want[i] {
			t.Fatalf("penalized = %v, want %v", logits, want)
		}
	}
}

func TestRepetitionPenaltyBelowOneBoostsTokens(t *testing.T) {
	logits := []float32{2, -2}
	ApplyRepetitionPenalty(logits, []int32{0, 1}, 0.5)
	if logits[0] != 4 || logits[1] != -1 {
		t.Fatalf("penalty 0.5 gave %v, want [4 -1]", logits)
	}
}

func TestRepetitionPenaltyOfOneOrInvalidIsNoOp(t *testing.T) {
	for _, p := range []float32{1, 0, -2, float32(math.NaN()), float32(math.Inf(1))} {
		logits := []float32{2, -2, 1}
		ApplyRepetitionPenalty(logits, []int32{0, 1, 2}, p)
		if logits[0] != 2 || logits[1] != -2 || logits[2] != 1 {
			t.Errorf("penalty %v changed logits to %v", p, logits)
		}
	}
}

func TestPenalizeLeavesBitsetClearForReuse(t *testing.T) {
	logits := make([]float32, 300)
	seen := penalize(logits, []int32{0, 63, 64, 200, 299, 200}, 2, nil)
	for i, w := range seen {
		if w != 0 {
			t.Fatalf("seen[%d] = %#x after penalize, want 0", i, w)
		}
	}
}

func TestSampleRepeatLastNLimitsThePenaltyWindow(t *testing.T) {
	logits := []float32{3, 2.5, 0, 0, 0, 0}
	history := []int32{0, 5}
	for _, tc := range []struct {
		lastN int
		want  int32
	}{
		{1, 0}, // window [5]: token 0 keeps 3 > 2.5
		{2, 1}, // window [0 5]: token 0 drops to 2 < 2.5
		{0, 1}, // whole history
	} {
		c := plain(0, 0)
		c.RepetitionPenalty, c.RepeatLastN = 1.5, tc.lastN
		s := mustNew(t, c)
		for call := range 2 { // the penalty must apply on every call
			got, err := s.Sample(logits, history)
			if err != nil || got != tc.want {
				t.Errorf("RepeatLastN %d, call %d: Sample = %d, %v; want %d", tc.lastN, call, got, err, tc.want)
			}
		}
	}
}
