package kernels

import "math"

// RopeTable holds the cosines and sines of rotary position embeddings for
// positions 0..MaxPos-1, computed once per model.
type RopeTable struct {
	Dims   int // rotated elements per head (even)
	Mode   RopeMode
	MaxPos int
	cos    []float32 // [pos][Dims/2]
	sin    []float32
}

// NewRopeTable computes the table for frequency base base. Pair i turns at
// frequency base^(-2i/dims); the angle pos*freq is formed in float32 and
// its cosine and sine rounded from float64, as llama2.c and llama.cpp do.
func NewRopeTable(base float32, dims, maxPos int, mode RopeMode) *RopeTable {
	half := dims / 2
	t := &RopeTable{Dims: dims, Mode: mode, MaxPos: maxPos,
		cos: make([]float32, maxPos*half), sin: make([]float32, maxPos*half)}
	freq := make([]float32, half)
	for i := range freq {
		freq[i] = float32(1.0 / math.Pow(float64(base), float64(2*i)/float64(dims)))
	}
	for p := 0; p < maxPos; p++ {
		for i, f := range freq {
			a := float64(float32(p) * f)
			t.cos[p*half+i] = float32(math.Cos(a))
			t.sin[p*half+i] = float32(math.Sin(a))
		}
	}
	return t
}

// At returns the cosines and sines of position pos.
func (t *RopeTable) At(pos int) (cos, sin []float32) {
	half := t.Dims / 2
	return t.cos[pos*half : (pos+1)*half], t.sin[pos*half : (pos+1)*half]
}
