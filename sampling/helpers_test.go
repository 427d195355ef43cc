package sampling

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomLogits returns n logits drawn from N(0, scale²) with a fixed seed.
// With quantize set they are rounded to integers, which creates many ties.
func randomLogits(seed uint64, n int, scale float64, quantize bool) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]float32, n)
	for i := range out {
		v := r.NormFloat64() * scale
		if quantize {
			v = math.Round(v)
		}
		out[i] = float32(v)
	}
	return out
}

// mustNew builds a Sampler or fails the test.
func mustNew(t testing.TB, c Config) *Sampler {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return s
}

// plain returns a config with temperature t and every filter and the
// penalty off.
func plain(t float32, seed uint64) Config {
	return Config{Temperature: t, TopP: 1, RepetitionPenalty: 1, Seed: seed}
}

// softmax64 is a float64 reference softmax of logits/t over finite logits.
func softmax64(logits []float32, t float64) []float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		if !math.IsNaN(float64(v)) {
			m = math.Max(m, float64(v))
		}
	}
	out := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		if math.IsNaN(float64(v)) {
			continue
		}
		out[i] = math.Exp((float64(v) - m) / t)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// counts draws n tokens from s and counts how often each id comes up.
func counts(t *testing.T, s *Sampler, logits []float32, n int) []int {
	t.Helper()
	c := make([]int, len(logits))
	for range n {
		id, err := s.Sample(logits, nil)
		if err != nil {
			t.Fatalf("Sample: %v", err)
		}
		c[id]++
	}
	return c
}

// checkFrequencies fails if the empirical frequencies of c differ from want
// by more than tol anywhere.
func checkFrequencies(t *testing.T, c []int, want []float64, tol float64) {
	t.Helper()
	total := 0
	for _, n := range c {
		total += n
	}
	for i, n := range c {
		got := float64(n) / float64(total)
		if math.Abs(got-want[i]) > tol {
			t.Errorf("token %d: frequency %.4f, want %.4f ± %.3f", i, got, want[i], tol)
		}
	}
}
