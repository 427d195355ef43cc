package sampling

import (
	"math"
	"slices"
	"testing"
)

// sortedCandidates is the reference ranking: every entry above -inf, best
// first (NaN already mapped to -inf by the caller).
func sortedCandidates(buf []float32) []cand {
	c := gatherFinite(nil, buf)
	slices.SortFunc(c, compareCands)
	return c
}

func sameIDs(a, b []cand) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].id != b[i].id {
			return false
		}
	}
	return true
}

func TestTopKMatchesFullSortWithTiesAndInfinities(t *testing.T) {
	for seed := range uint64(20) {
		buf := randomLogits(seed, 2000, 2, true)
		for i := 0; i < len(buf); i += 7 {
			buf[i] = ninf32
		}
		buf[3], buf[1500] = inf32, inf32
		want := sortedCandidates(buf)
		for _, k := range []int{1, 2, 5, 50, 1000, len(want), len(want) + 10} {
			got := topK(nil, buf, k)
			if !sameIDs(got, want[:min(k, len(want))]) {
				t.Fatalf("seed %d, k %d: topK differs from the sorted reference", seed, k)
			}
		}
	}
}

func TestSelectBestPutsTheBestMFirst(t *testing.T) {
	inputs := map[string][]float32{
		"random":    randomLogits(1, 5000, 1, false),
		"ties":      randomLogits(2, 5000, 1, true),
		"equal":     make([]float32, 3000),
		"ascending": make([]float32, 3000),
		"organ":     make([]float32, 3000),
	}
	for i := range 3000 {
		inputs["ascending"][i] = float32(i)
		inputs["organ"][i] = float32(min(i, 3000-i))
	}
	for name, buf := range inputs {
		want := sortedCandidates(buf)
		for _, m := range []int{0, 1, 17, 64, 1000, len(buf) - 1, len(buf)} {
			c := gatherFinite(nil, buf)
			selectBest(c, m)
			head := slices.Clone(c[:m])
			slices.SortFunc(head, compareCands)
			if !sameIDs(head, want[:m]) {
				t.Fatalf("%s, m %d: c[:m] is not the best m", name, m)
			}
		}
	}
}

// referenceNucleus returns the ids top-p keeps, computed from a full sort
// with the same float64 arithmetic as the sampler.
func referenceNucleus(buf []float32, temp, p float64) []int32 {
	c := gatherFinite(nil, buf) // id order, as the sampler sums the total
	top := math.Inf(-1)
	for _, x := range c {
		top = math.Max(top, float64(x.logit))
	}
	var total float64
	for i := range c {
		c[i].w = math.Exp((float64(c[i].logit) - top) / temp)
		total += c[i].w
	}
	slices.SortFunc(c, compareCands)
	var cum float64
	var ids []int32
	for _, x := range c {
		ids = append(ids, x.id)
		cum += x.w
		if cum >= p*total {
			break
		}
	}
	return ids
}

func TestNucleusOnLargeVocabMatchesFullSortReference(t *testing.T) {
	for _, tc := range []struct {
		temp  float32
		topP  float32
		scale float64
	}{
		{0.8, 0.9, 3},
		{1, 0.95, 1},    // flat: the nucleus spans many sort batches
		{1, 0.999, 0.5}, // nearly everything
		{0.5, 0.5, 4},
	} {
		buf := randomLogits(11, 128256, tc.scale, false)
		want := referenceNucleus(buf, float64(tc.temp), float64(tc.topP))
		c := plain(tc.temp, 0)
		c.TopP = tc.topP
		s := mustNew(t, c)
		got, err := s.filter(s.load(buf))
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int32, len(got))
		for i, x := range got {
			ids[i] = x.id
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("%+v: nucleus of %d tokens, reference %d (or order differs)", tc, len(ids), len(want))
		}
		t.Logf("%+v: nucleus of %d tokens", tc, len(ids))
	}
}
