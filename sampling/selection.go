package sampling

import (
	"math/bits"
	"slices"
)

// cand is one candidate token: its (penalized) logit, its id and, once
// weighed, its probability up to a common factor (the top candidate has
// weight 1).
type cand struct {
	w     float64
	logit float32
	id    int32
}

// better reports whether a ranks before b: higher logit first, lower id on
// ties. Logits are never NaN here, so this is a strict total order.
func better(a, b cand) bool {
	return a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
}

// compareCands orders candidates best first, for slices.SortFunc.
func compareCands(a, b cand) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// gatherFinite appends to dst[:0] every entry of buf above -inf, in id
// order. buf holds no NaN.
func gatherFinite(dst []cand, buf []float32) []cand {
	c := dst[:0]
	for i, v := range buf {
		if v > negInf {
			c = append(c, cand{logit: v, id: int32(i)})
		}
	}
	return c
}

// topK appends to dst[:0] the k best entries of buf above -inf, sorted best
// first. It keeps a min-heap of the k best seen so far with the worst at
// the root, so most entries cost one comparison. buf holds no NaN.
func topK(dst []cand, buf []float32, k int) []cand {
	h := dst[:0]
	for i, v := range buf {
		if len(h) < k {
			if v > negInf {
				h = append(h, cand{logit: v, id: int32(i)})
				siftUp(h, len(h)-1)
			}
			continue
		}
		// Ids arrive in increasing order, so an equal logit loses the tie.
		if v <= h[0].logit {
			continue
		}
		h[0] = cand{logit: v, id: int32(i)}
		siftDown(h, 0)
	}
	slices.SortFunc(h, compareCands)
	return h
}

// siftUp restores the heap (worst at the root) after h[i] changed.
func siftUp(h []cand, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

// siftDown restores the heap (worst at the root) after h[i] changed.
func siftDown(h []cand, i int) {
	for {
		worst := i
		if l := 2*i + 1; l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r := 2*i + 2; r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// selectBest rearranges c so that c[:m] holds its m best candidates, in no
// particular order. It is a quickselect with a median-of-three pivot that
// falls back to sorting the remaining range when partitioning goes badly,
// so it is O(len(c)) on typical input and O(n log n) at worst.
func selectBest(c []cand, m int) {
	lo, hi := 0, len(c)
	budget := 2 * bits.Len(uint(len(c)))
	for lo < m && m < hi {
		if hi-lo <= 16 || budget == 0 {
			slices.SortFunc(c[lo:hi], compareCands)
			return
		}
		budget--
		p := lo + partition(c[lo:hi])
		if p < m {
			lo = p + 1
		} else {
			hi = p
		}
	}
}

// partition splits c (len >= 3) around a median-of-three pivot: the
// candidates better than the pivot come first, then the pivot, whose final
// index it returns, then the worse ones.
func partition(c []cand) int {
	last, mid := len(c)-1, len(c)/2
	if better(c[mid], c[0]) {
		c[0], c[mid] = c[mid], c[0]
	}
	if better(c[last], c[mid]) {
		c[mid], c[last] = c[last], c[mid]
		if better(c[mid], c[0]) {
			c[0], c[mid] = c[mid], c[0]
		}
	}
	c[mid], c[last] = c[last], c[mid] // median to the end
	pivot := c[last]
	i := 0
	for j := range last {
		if better(c[j], pivot) {
			c[i], c[j] = c[j], c[i]
			i++
		}
	}
	c[i], c[last] = c[last], c[i]
	return i
}
