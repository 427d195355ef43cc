package sampling

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

func TestSampleGreedyEqualsArgmax(t *testing.T) {
	s := mustNew(t, plain(0, 0))
	for seed := range uint64(50) {
		logits := randomLogits(seed, 1000, 3, true) // many ties
		got, err := s.Sample(logits, nil)
		want, _ := Argmax(logits)
		if err != nil || got != want {
			t.Fatalf("seed %d: greedy Sample = %d, %v; Argmax = %d", seed, got, err, want)
		}
	}
}

func TestSampleGreedyEqualsArgmaxOfPenalizedLogits(t *testing.T) {
	c := plain(0, 0)
	c.RepetitionPenalty = 1.3
	s := mustNew(t, c)
	for seed := range uint64(50) {
		logits := randomLogits(seed, 500, 2, false)
		best, _ := Argmax(logits)
		history := []int32{best, 3, 3, 499, 500, -4}
		penalized := slices.Clone(logits)
		ApplyRepetitionPenalty(penalized, history, c.RepetitionPenalty)
		want, _ := Argmax(penalized)
		got, err := s.Sample(logits, history)
		if err != nil || got != want {
			t.Fatalf("seed %d: greedy Sample = %d, %v; argmax of penalized = %d", seed, got, err, want)
		}
	}
}

func TestSampleNeverChoosesNaN(t *testing.T) {
	logits := randomLogits(1, 64, 1, false)
	for i := 0; i < len(logits); i += 2 {
		logits[i] = nan32
	}
	logits[0] = nan32
	for _, c := range []Config{plain(0, 1), plain(1, 1), plain(5, 1), DefaultConfig()} {
		s := mustNew(t, c)
		for range 2000 {
			id, err := s.Sample(logits, nil)
			if err != nil {
				t.Fatalf("%+v: %v", c, err)
			}
			if math.IsNaN(float64(logits[id])) {
				t.Fatalf("%+v: sampled NaN logit at %d", c, id)
			}
		}
	}
}

func TestSampleWithoutFiniteLogitIsErrNumeric(t *testing.T) {
	topK := plain(1, 0)
	topK.TopK = 2
	topP := plain(1, 0)
	topP.TopP = 0.5
	minP := plain(1, 0)
	minP.MinP = 0.1
	penalized := DefaultConfig()
	penalized.RepetitionPenalty = 1.2
	inputs := [][]float32{{nan32}, {nan32, nan32, nan32}, {ninf32, ninf32}, {nan32, ninf32, nan32}}
	for _, c := range []Config{plain(0, 0), plain(1, 0), topK, topP, minP, penalized, DefaultConfig()} {
		s := mustNew(t, c)
		for _, logits := range inputs {
			if _, err := s.Sample(logits, []int32{0, 1}); !errors.Is(err, errs.ErrNumeric) {
				t.Errorf("%+v, %v: error = %v, want ErrNumeric", c, logits, err)
			}
		}
	}
}

func TestSampleEmptyLogitsIsInvalidArgument(t *testing.T) {
	for _, c := range []Config{plain(0, 0), DefaultConfig()} {
		if _, err := mustNew(t, c).Sample(nil, nil); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%+v: error = %v, want ErrInvalidArgument", c, err)
		}
	}
}

func TestSamplePlusInfWinsGreedy(t *testing.T) {
	logits := []float32{3e38, nan32, inf32, 1, inf32}
	got, err := mustNew(t, plain(0, 0)).Sample(logits, nil)
	if err != nil || got != 2 {
		t.Fatalf("greedy Sample = %d, %v; want 2", got, err)
	}
}

func TestSamplePlusInfTokensShareDrawsEqually(t *testing.T) {
	logits := []float32{3e38, inf32, 5, inf32, nan32}
	for _, c := range []Config{plain(1, 9), plain(1e-30, 9), DefaultConfig()} {
		c.Seed = 9
		got := counts(t, mustNew(t, c), logits, 20000)
		checkFrequencies(t, got, []float64{0, 0.5, 0, 0.5, 0}, 0.02)
	}
}

func TestSampleSameSeedGivesSameSequence(t *testing.T) {
	c := DefaultConfig()
	c.Seed = 42
	c.RepetitionPenalty = 1.1
	a, b := mustNew(t, c), mustNew(t, c)
	logits := randomLogits(5, 4000, 2, false)
	var history []int32
	for i := range 500 {
		x, errA := a.Sample(logits, history)
		y, errB := b.Sample(logits, history)
		if errA != nil || errB != nil || x != y {
			t.Fatalf("draw %d: %d (%v) vs %d (%v)", i, x, errA, y, errB)
		}
		history = append(history, x)
	}
}

func TestResetReproducesTheSequenceOfAFreshSampler(t *testing.T) {
	logits := randomLogits(6, 100, 1, false)
	s := mustNew(t, plain(1, 3))
	first := make([]int32, 300)
	for i := range first {
		first[i], _ = s.Sample(logits, nil)
	}
	s.Reset(3)
	for i := range first {
		if got, _ := s.Sample(logits, nil); got != first[i] {
			t.Fatalf("after Reset(3), draw %d = %d, want %d", i, got, first[i])
		}
	}
	s.Reset(11)
	fresh := mustNew(t, plain(1, 11))
	for i := range 300 {
		x, _ := s.Sample(logits, nil)
		y, _ := fresh.Sample(logits, nil)
		if x != y {
			t.Fatalf("after Reset(11), draw %d = %d; fresh seed-11 sampler gave %d", i, x, y)
		}
	}
}

func TestSampleDifferentSeedsGiveDifferentSequences(t *testing.T) {
	logits := make([]float32, 16) // uniform: each draw matches with p = 1/16
	a, b := mustNew(t, plain(1, 1)), mustNew(t, plain(1, 2))
	same := 0
	const draws = 2000
	for range draws {
		x, _ := a.Sample(logits, nil)
		y, _ := b.Sample(logits, nil)
		if x == y {
			same++
		}
	}
	if same > draws/4 {
		t.Fatalf("seeds 1 and 2 agreed on %d of %d draws; expected about %d", same, draws, draws/16)
	}
}

func TestSampleTopKOneEqualsGreedy(t *testing.T) {
	c := plain(1.5, 0)
	c.TopK = 1
	s := mustNew(t, c)
	for seed := range uint64(50) {
		logits := randomLogits(seed, 1000, 1, true)
		got, err := s.Sample(logits, nil)
		want, _ := Argmax(logits)
		if err != nil || got != want {
			t.Fatalf("seed %d: top-k 1 Sample = %d, %v; Argmax = %d", seed, got, err, want)
		}
	}
}

func TestSampleTinyTopPEqualsGreedy(t *testing.T) {
	for _, k := range []int{0, 50} {
		c := plain(1, 0)
		c.TopK, c.TopP = k, 1e-6
		s := mustNew(t, c)
		for seed := range uint64(50) {
			logits := randomLogits(seed, 5000, 1, true)
			got, err := s.Sample(logits, nil)
			want, _ := Argmax(logits)
			if err != nil || got != want {
				t.Fatalf("top-k %d, seed %d: tiny top-p Sample = %d, %v; Argmax = %d", k, seed, got, err, want)
			}
		}
	}
}

func TestSampleFrequenciesMatchSoftmax(t *testing.T) {
	logits := []float32{1, 2, 0.5, -1, 3, 2, nan32, 0}
	for _, temp := range []float32{1, 0.5, 2} {
		got := counts(t, mustNew(t, plain(temp, 2024)), logits, 20000)
		checkFrequencies(t, got, softmax64(logits, float64(temp)), 0.012)
	}
}

// fourWay has probabilities 0.5, 0.3, 0.15, 0.05 (plus a NaN) at temperature 1.
var fourWay = []float32{
	float32(math.Log(0.15)), float32(math.Log(0.5)), nan32,
	float32(math.Log(0.05)), float32(math.Log(0.3)),
}

func TestSampleTopKFrequenciesMatchRenormalizedSoftmax(t *testing.T) {
	c := plain(1, 77)
	c.TopK = 2
	got := counts(t, mustNew(t, c), fourWay, 20000)
	checkFrequencies(t, got, []float64{0, 0.5 / 0.8, 0, 0, 0.3 / 0.8}, 0.012)
}

func TestSampleTopPKeepsSmallestSetReachingP(t *testing.T) {
	for _, tc := range []struct {
		topP float32
		want []float64
	}{
		{0.4, []float64{0, 1, 0, 0, 0}},
		{0.75, []float64{0, 0.5 / 0.8, 0, 0, 0.3 / 0.8}},
		{0.85, []float64{0.15 / 0.95, 0.5 / 0.95, 0, 0, 0.3 / 0.95}},
		{0.99, []float64{0.15, 0.5, 0, 0.05, 0.3}},
	} {
		for _, k := range []int{0, 3, 4} {
			c := plain(1, 5)
			c.TopP, c.TopK = tc.topP, k
			got := counts(t, mustNew(t, c), fourWay, 20000)
			want := tc.want
			if k == 3 && tc.topP == 0.99 {
				want = []float64{0.15 / 0.95, 0.5 / 0.95, 0, 0, 0.3 / 0.95}
			}
			t.Logf("top-p %v, top-k %d: counts %v", tc.topP, k, got)
			checkFrequencies(t, got, want, 0.012)
		}
	}
}

func TestSampleMinPDropsTokensBelowFractionOfBest(t *testing.T) {
	for _, tc := range []struct {
		minP float32
		want []float64
	}{
		{0.2, []float64{0.15 / 0.95, 0.5 / 0.95, 0, 0, 0.3 / 0.95}}, // cut at 0.1
		{0.5, []float64{0, 0.5 / 0.8, 0, 0, 0.3 / 0.8}},             // cut at 0.25
		{1, []float64{0, 1, 0, 0, 0}},
	} {
		c := plain(1, 6)
		c.MinP = tc.minP
		got := counts(t, mustNew(t, c), fourWay, 20000)
		checkFrequencies(t, got, tc.want, 0.012)
	}
}

func TestSampleDoesNotModifyCallerLogits(t *testing.T) {
	logits := randomLogits(8, 3000, 2, true)
	logits[10], logits[20], logits[30] = nan32, inf32, ninf32
	before := make([]uint32, len(logits))
	for i, v := range logits {
		before[i] = math.Float32bits(v)
	}
	history := []int32{1, 2, 3, 10, 20, 30, 2999}
	topP := plain(0.8, 0)
	topP.TopP, topP.RepetitionPenalty, topP.MinP = 0.9, 1.3, 0.01
	greedy := plain(0, 0)
	greedy.RepetitionPenalty = 1.3
	for _, c := range []Config{greedy, topP, DefaultConfig()} {
		s := mustNew(t, c)
		for range 10 {
			if _, err := s.Sample(logits, history); err != nil {
				t.Fatal(err)
			}
		}
		for i, v := range logits {
			if math.Float32bits(v) != before[i] {
				t.Fatalf("%+v: logits[%d] changed from %v to %v", c, i, math.Float32frombits(before[i]), v)
			}
		}
	}
}

func TestSampleAllocatesNothingAfterFirstCall(t *testing.T) {
	logits := randomLogits(9, 128256, 3, false)
	history := []int32{5, 6, 7, 8, 100000}
	topP := plain(0.8, 0)
	topP.TopP, topP.RepetitionPenalty = 0.95, 1.1
	withPenalty := DefaultConfig()
	withPenalty.RepetitionPenalty = 1.1
	for _, c := range []Config{withPenalty, topP, plain(0, 0), plain(1, 0)} {
		s := mustNew(t, c)
		if _, err := s.Sample(logits, history); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := s.Sample(logits, history); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%+v: %v allocations per Sample, want 0", c, allocs)
		}
	}
}
