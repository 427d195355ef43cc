package kernels

import "math"

// RopeTable holds the rotation frequencies of rotary position embeddings.
type RopeTable struct {
	Dims int // rotated elements per head (even)
	Mode RopeMode
	freq []float32 // Dims/2 frequencies
}

// NewRopeTable returns the table for frequency base base: pair i turns at
// base^(-2i/dims).
func NewRopeTable(base float32, dims int, mode RopeMode) *RopeTable {
	t := &RopeTable{Dims: dims, Mode: mode, freq: make([]float32, dims/2)}
	for i := range t.freq {
		t.freq[i] = float32(1.0 / math.Pow(float64(base), float64(2*i)/float64(dims)))
	}
	return t
}

// At fills cos and sin (Dims/2 each) for position pos. The angle pos*freq
// is formed in float32 and its cosine and sine rounded from float64, as
// llama2.c and llama.cpp do.
func (t *RopeTable) At(pos int, cos, sin []float32) {
	for i, f := range t.freq {
		a := float64(float32(pos) * f)
		cos[i] = float32(math.Cos(a))
		sin[i] = float32(math.Sin(a))
	}
}
