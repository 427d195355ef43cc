package cuda

import (
	"math"
	"math/rand/v2"
	"testing"
)

// warp_sumsq (kernels.cu) transcribed to Go, lane by lane: the argument
// that its result is the sequential sum's bits, checked on many rows,
// including the rounding ties that make the translation fail. (The GPU
// tests check the kernel itself.)

func seqSumsq(x []float32, s float32) float32 {
	for _, v := range x {
		s += float32(v * v)
	}
	return s
}

func expo32(f float32) uint32 { return math.Float32bits(f) >> 23 }

// emuLane is what one lane of warp_sumsq leaves in shared memory.
type emuLane struct {
	e                     uint32
	dA, hiA, xp, dB, hiB  float32
	ok, cross, tieA, tieB bool
	parA, parB            uint32
}

func emuWarpSumsq(x []float32) (float32, int) {
	dim := len(x)
	L := (dim + 31) / 32
	seg := func(j int) []float32 {
		lo := min(j*L, dim)
		return x[lo:min(lo+L, dim)]
	}
	var lanes [32]emuLane
	var pre, s float32
	for lane := 0; lane < 32; lane++ {
		c := pre
		var a float32
		for _, v := range seg(lane) {
			a += float32(v * v)
		}
		pre += a
		E := expo32(c)
		l := emuLane{e: E, ok: E >= 25 && E < 253}
		t, cB := c, float32(0)
		for _, v := range seg(lane) {
			p := float32(v * v)
			sum := float32(t + p)
			bb := float32(sum - t)
			err := float32(float32(t-float32(sum-bb)) + float32(p-bb))
			es := expo32(sum)
			tie := es > 24 && err != 0 && float32(math.Abs(float64(err))) == math.Float32frombits((es-24)<<23)
			switch {
			case !l.cross && es == E:
				if es <= 24 {
					l.ok = false
				} else if tie {
					l.tieA = true
				}
			case !l.cross && es == E+1:
				l.dA, l.cross, l.xp, cB = float32(t-c), true, p, sum
			case l.cross && es == E+1:
				if tie {
					l.tieB = true
				}
			default:
				l.ok = false
			}
			t = sum
		}
		lo2 := math.Float32frombits(E << 23)
		if !l.cross {
			l.dA = float32(t - c)
		}
		l.hiA = float32(2*lo2) - l.dA
		if l.cross {
			l.dB = float32(t - cB)
		}
		l.hiB = float32(4*lo2) - l.dB
		l.parA, l.parB = math.Float32bits(c)&1, math.Float32bits(cB)&1
		lanes[lane] = l
		if lane == 0 {
			s = t
		}
	}
	slow := 0
	for j := 1; j < 32; j++ {
		l := lanes[j]
		good, s2 := false, s
		if l.ok {
			l2 := math.Float32frombits(l.e << 23)
			if s >= l2 && s < l.hiA && (!l.tieA || math.Float32bits(s)&1 == l.parA) {
				s2, good = float32(s+l.dA), true
				if l.cross {
					s2 = float32(s2 + l.xp)
					good = s2 >= float32(2*l2) && s2 < l.hiB && (!l.tieB || math.Float32bits(s2)&1 == l.parB)
					if good {
						s2 = float32(s2 + l.dB)
					}
				}
			}
		}
		if good {
			s = s2
		} else {
			s = seqSumsq(seg(j), s)
			slow++
		}
	}
	return s, slow
}

func TestWarpSumsqGivesTheSequentialSumsBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	slow, rows := 0, 0
	for _, n := range []int{1, 31, 32, 33, 100, 256, 1536, 2560, 6912, 6913} {
		for trial := 0; trial < 400; trial++ {
			x := make([]float32, n)
			for i := range x {
				switch trial % 7 {
				case 0:
					x[i] = float32(r.NormFloat64())
				case 1: // wide range
					x[i] = float32(r.NormFloat64() * math.Exp(3*r.NormFloat64()))
				case 2: // small integers: many exact ties
					x[i] = float32(r.IntN(7) - 3)
				case 3: // powers of two
					x[i] = float32(math.Ldexp(1, r.IntN(20)-10))
				case 4:
					x[i] = float32(r.IntN(200)-100) / 2
				case 5: // sparse
					if r.IntN(10) == 0 {
						x[i] = float32(r.NormFloat64())
					}
				case 6: // tiny
					x[i] = float32(r.NormFloat64() * 1e-20)
				}
			}
			got, s := emuWarpSumsq(x)
			if want := seqSumsq(x, 0); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("n=%d trial %d: %v, the sequential sum is %v", n, trial, got, want)
			}
			slow += s
			rows++
		}
	}
	for _, x := range [][]float32{make([]float32, 3000), {1, float32(math.Inf(1)), 2}, {1, float32(math.NaN()), 2}} {
		got, _ := emuWarpSumsq(x)
		if want := seqSumsq(x, 0); math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("%v: %v, want %v", x[:3], got, want)
		}
	}
	t.Logf("%d rows, %.1f segments per row redone sequentially", rows, float64(slow)/float64(rows))
}
