// Package sampling turns a logits vector into a token id: repetition
// penalty, greedy or temperature sampling with top-k, top-p and min-p
// filters, drawn from a seeded generator so that runs are reproducible.
//
// NaN logits are treated as -inf everywhere. A +inf logit is treated as the
// largest possible value: it wins greedy decoding, and when sampling the +inf
// tokens share all the probability equally (the limit of the softmax). If no
// logit is finite or +inf, the functions return an error wrapping
// errs.ErrNumeric.
package sampling

import (
	"math"
	"math/rand/v2"
	"slices"
)

// pcgStream is the fixed second word of the PCG state; Seed is the first.
const pcgStream = 0x9e3779b97f4a7c15

// topPFirstBatch is how many candidates the nucleus filter sorts first when
// top-k did not already sort them; each further batch is four times larger.
const topPFirstBatch = 64

// Sampler draws token ids from logits according to a Config. It owns a
// seeded random number generator and scratch buffers sized to the
// vocabulary, so after the first call at a given vocabulary size Sample
// allocates nothing. A Sampler is not safe for concurrent use.
type Sampler struct {
	cfg   Config
	pcg   *rand.PCG
	rng   *rand.Rand
	buf   []float32 // penalized copy of the caller's logits
	cands []cand    // candidate tokens
	seen  []uint64  // bitset of tokens already penalized; zero between calls
}

// New returns a Sampler for c, after validating it (errors wrap
// errs.ErrInvalidArgument). Its generator is seeded from c.Seed.
func New(c Config) (*Sampler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(c.Seed, pcgStream)
	return &Sampler{cfg: c, pcg: pcg, rng: rand.New(pcg)}, nil
}

// Reset reseeds the generator, so the Sampler draws the same sequence as a
// new Sampler with this seed.
func (s *Sampler) Reset(seed uint64) {
	s.cfg.Seed = seed
	s.pcg.Seed(seed, pcgStream)
}

// Sample returns the next token id for logits, given the tokens generated
// so far in history (used only by the repetition penalty; ids outside the
// vocabulary are ignored). It never modifies logits.
//
// The steps are: repetition penalty over the last RepeatLastN history
// tokens; if Temperature is 0, the argmax (lowest id on ties); otherwise
// temperature, top-k, softmax, top-p (the smallest most-likely set whose
// probability reaches TopP, at least one token), min-p, renormalization and
// a draw from the generator. Temperature is applied inside the softmax as
// exp((l-max)/T) in float64, which is the same distribution as dividing
// first but cannot overflow for tiny T.
//
// Empty logits give an error wrapping errs.ErrInvalidArgument; logits with
// no finite or +inf entry give one wrapping errs.ErrNumeric.
func (s *Sampler) Sample(logits []float32, history []int32) (int32, error) {
	if err := checkLen(logits); err != nil {
		return 0, err
	}
	buf := s.load(logits)
	if p := s.cfg.RepetitionPenalty; p != 1 {
		if n := s.cfg.RepeatLastN; n > 0 && len(history) > n {
			history = history[len(history)-n:]
		}
		s.seen = penalize(buf, history, p, s.seen)
	}
	if s.cfg.Temperature == 0 {
		return Argmax(buf)
	}
	c, err := s.filter(buf)
	if err != nil {
		return 0, err
	}
	return s.draw(c), nil
}

// load copies logits into the scratch buffer, turning NaN into -inf, and
// makes sure the candidate buffer can hold the whole vocabulary.
func (s *Sampler) load(logits []float32) []float32 {
	n := len(logits)
	if cap(s.buf) < n {
		s.buf = make([]float32, n)
		s.cands = make([]cand, 0, n)
	}
	buf := s.buf[:n]
	for i, v := range logits {
		if v != v {
			v = negInf
		}
		buf[i] = v
	}
	return buf
}

// filter applies top-k, the tempered softmax, top-p and min-p to the
// penalized logits in buf and returns the surviving candidates with their
// weights. The best candidate always survives and has weight 1.
func (s *Sampler) filter(buf []float32) ([]cand, error) {
	var c []cand
	sorted := false
	if k := s.cfg.TopK; k > 0 && k < len(buf) {
		c, sorted = topK(s.cands, buf, k), true
	} else {
		c = gatherFinite(s.cands, buf)
	}
	if len(c) == 0 {
		return nil, errNoFinite(len(buf))
	}
	weigh(c, s.cfg.Temperature)
	if s.cfg.topPActive() {
		c = c[:nucleus(c, sorted, float64(s.cfg.TopP))]
	}
	if mp := float64(s.cfg.MinP); mp > 0 {
		c = keepAtLeast(c, mp)
	}
	return c, nil
}

// weigh sets each candidate's weight to exp((logit-max)/t), its probability
// times a common factor, so the best candidate weighs 1. If the maximum is
// +inf, the +inf candidates weigh 1 and the others 0.
func weigh(c []cand, t float32) {
	top := negInf
	for i := range c {
		top = max(top, c[i].logit)
	}
	if top == posInf {
		for i := range c {
			c[i].w = 0
			if c[i].logit == posInf {
				c[i].w = 1
			}
		}
		return
	}
	m, temp := float64(top), float64(t)
	for i := range c {
		c[i].w = math.Exp((float64(c[i].logit) - m) / temp)
	}
}

// nucleus returns how many of the best candidates make up the smallest set
// whose probability reaches p (at least 1), leaving them first in c, best
// first. Unless c is already sorted, it sorts only as far as it needs:
// batches of the best remaining candidates, each four times the last.
func nucleus(c []cand, sorted bool, p float64) int {
	var total float64
	for i := range c {
		total += c[i].w
	}
	target := p * total
	done, batch := 0, topPFirstBatch
	if sorted {
		done = len(c)
	}
	var cum float64
	for i := range c {
		if i == done {
			end := min(len(c), done+batch)
			selectBest(c[done:], end-done)
			slices.SortFunc(c[done:end], compareCands)
			done, batch = end, batch*4
		}
		cum += c[i].w
		if cum >= target {
			return i + 1
		}
	}
	return len(c) // rounding kept cum just below target
}

// keepAtLeast keeps, in order, the candidates whose weight is at least mp
// (the min-p rule, since the best candidate weighs 1).
func keepAtLeast(c []cand, mp float64) []cand {
	kept := c[:0]
	for _, x := range c {
		if x.w >= mp {
			kept = append(kept, x)
		}
	}
	return kept
}

// draw picks a candidate with probability proportional to its weight.
// Weights are non-negative and at least one is positive.
func (s *Sampler) draw(c []cand) int32 {
	var total float64
	for i := range c {
		total += c[i].w
	}
	u := s.rng.Float64() * total
	var cum float64
	last := 0
	for i := range c {
		if c[i].w == 0 {
			continue
		}
		cum += c[i].w
		last = i
		if u < cum {
			return c[i].id
		}
	}
	return c[last].id // u landed past cum by rounding
}
