package sampling

import "testing"

// BenchmarkSample128k times one Sample call at the Llama 3 vocabulary size
// under common configurations.
func BenchmarkSample128k(b *testing.B) {
	logits := randomLogits(1, 128256, 3, false)
	history := make([]int32, 64)
	for i := range history {
		history[i] = int32(i * 1999)
	}
	topPOnly := plain(0.8, 0)
	topPOnly.TopP = 0.9
	penalized := DefaultConfig()
	penalized.RepetitionPenalty = 1.1
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"greedy", plain(0, 0)},
		{"default_topk50_topp0.9", DefaultConfig()},
		{"default_with_penalty", penalized},
		{"topp0.9_only", topPOnly},
		{"temperature_only", plain(1, 0)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := mustNew(b, bc.cfg)
			for b.Loop() {
				if _, err := s.Sample(logits, history); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
