package kernels

import "math"

// RMSNorm implements Backend. The arithmetic is llama2.c's: a float32 sum of
// squares in index order, then weight * (x * 1/sqrt(mean + eps)).
func (r *Reference) RMSNorm(out, x, weight []float32, n, dim int, eps float32) {
	for t := 0; t < n; t++ {
		xr, or := x[t*dim:(t+1)*dim], out[t*dim:(t+1)*dim]
		var ss float32
		for _, v := range xr {
			ss += float32(v * v)
		}
		ss /= float32(dim)
		ss += eps
		inv := float32(1 / math.Sqrt(float64(ss)))
		for j, v := range xr {
			or[j] = weight[j] * (inv * v)
		}
	}
}

// Rope implements Backend.
func (r *Reference) Rope(x []float32, n, heads, headDim, start int, rot *RopeTable) {
	half := rot.Dims / 2
	stride := heads * headDim
	cos, sin := make([]float32, half), make([]float32, half)
	for t := 0; t < n; t++ {
		rot.At(start+t, cos, sin)
		for h := 0; h < heads; h++ {
			v := x[t*stride+h*headDim : t*stride+(h+1)*headDim]
			for i := 0; i < half; i++ {
				var a, b int
				if rot.Mode == RopeAdjacent {
					a, b = 2*i, 2*i+1
				} else {
					a, b = i, i+half
				}
				x0, x1 := v[a], v[b]
				v[a] = float32(x0*cos[i]) - float32(x1*sin[i])
				v[b] = float32(x0*sin[i]) + float32(x1*cos[i])
			}
		}
	}
}

// GLU implements Backend. The elements are split over the workers (the
// SiLU's exp is the costly part).
func (r *Reference) GLU(out, gate, up []float32, n int, act Activation) {
	gate, up, out = gate[:n], up[:n], out[:n]
	r.pool.Run(n, 2048, func(_, lo, hi int) {
		glu(out[lo:hi], gate[lo:hi], up[lo:hi], act)
	})
}

func glu(out, gate, up []float32, act Activation) {
	switch act {
	case ReLUSquared:
		for i, g := range gate {
			g = max(g, 0)
			out[i] = g * g * up[i]
		}
	default:
		// float32 throughout, as llama2.c: g * (1 / (1 + expf(-g))).
		for i, g := range gate {
			e := float32(math.Exp(float64(-g)))
			out[i] = g * (1 / (1 + e)) * up[i]
		}
	}
}

// Attend implements Backend. Each (token, head) pair is independent; the
// pairs are split over the workers.
//
// With rotate-half RoPE, q.k is summed in rotation-pair order (0, d/2, 1,
// d/2+1, ...): the order of the same head in adjacent-pair layout, so a
// model gives bit-identical scores whichever of the two layouts its q/k
// rows were written in (converters permute them between the two).
func (r *Reference) Attend(out, q, kCache, vCache []float32, n, start int, a AttentionShape, rot *RopeTable) {
	hd := a.HeadDim
	qStride := a.Heads * hd
	kvStride := a.KVHeads * hd
	group := a.Heads / a.KVHeads
	r.pool.Run(n*a.Heads, 1, func(worker, lo, hi int) {
		sc := &r.scratch[worker]
		for job := lo; job < hi; job++ {
			t, h := job/a.Heads, job%a.Heads
			pos := start + t
			kvh := h / group
			qv := q[t*qStride+h*hd : t*qStride+(h+1)*hd]
			sc.scores = grow(sc.scores, pos+1)
			scores := sc.scores
			maxS := float32(math.Inf(-1))
			for p := 0; p <= pos; p++ {
				k := kCache[p*kvStride+kvh*hd : p*kvStride+(kvh+1)*hd]
				var s float32
				if rot.Mode == RopeHalf {
					s = dotPairs(qv, k, rot.Dims/2) * a.Scale
				} else {
					s = dotF32(qv, k) * a.Scale
				}
				scores[p] = s
				maxS = max(maxS, s)
			}
			var sum float32
			for p := range scores {
				e := float32(math.Exp(float64(scores[p] - maxS)))
				scores[p] = e
				sum += e
			}
			o := out[t*qStride+h*hd : t*qStride+(h+1)*hd]
			clear(o)
			for p, w := range scores {
				w /= sum
				v := vCache[p*kvStride+kvh*hd : p*kvStride+(kvh+1)*hd]
				for i, x := range v {
					o[i] += float32(w * x)
				}
			}
		}
	})
}

// dotPairs is a dot product of head vectors in rotate-half layout, summed
// in adjacent-pair order: (0, half), (1, half+1), ..., then the elements
// past the rotated part.
func dotPairs(a, b []float32, half int) float32 {
	var s float32
	b = b[:len(a)]
	for i := 0; i < half; i++ {
		s += float32(a[i] * b[i])
		s += float32(a[i+half] * b[i+half])
	}
	for i := 2 * half; i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}
