package bench

import (
	"math"
	"slices"
)

// Stats summarizes repeated measurements of one figure.
type Stats struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Mean   float64   `json:"mean"`
	StdDev float64   `json:"stddev"`
	N      int       `json:"n"`
	Values []float64 `json:"values"`
}

// Summarize returns the median, extremes, mean and sample standard
// deviation of xs (the zero Stats for no values).
func Summarize(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	st := Stats{Min: s[0], Max: s[len(s)-1], N: len(s), Values: slices.Clone(xs)}
	if len(s)%2 == 1 {
		st.Median = s[len(s)/2]
	} else {
		st.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	for _, x := range s {
		st.Mean += x
	}
	st.Mean /= float64(len(s))
	if len(s) > 1 {
		var ss float64
		for _, x := range s {
			ss += (x - st.Mean) * (x - st.Mean)
		}
		st.StdDev = math.Sqrt(ss / float64(len(s)-1))
	}
	return st
}
