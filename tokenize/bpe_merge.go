package tokenize

import (
	"fmt"
	"math"

	"github.com/bitnet-dev/bitnet/errs"
)

// smallWord is the longest pre-token (in bytes) merged by rescanning the
// pair ranks after each merge (quadratic but cache-friendly); longer ones
// use a priority queue over a linked list, O(n log n).
const smallWord = 48

// mergeScratch holds buffers reused across the pre-tokens of one Encode.
type mergeScratch struct {
	ids   []int32
	ranks []uint64
}

// mergeSmall merges the symbols ids (modified in place) and appends the
// result. Each step merges the pair of lowest rank, the leftmost of equal
// ones (the packed rank<<32|id of equal pairs is equal).
func (b *BPE) mergeSmall(ids []int32, out []int32, sc *mergeScratch) []int32 {
	ranks := sc.ranks[:0]
	for i := 0; i+1 < len(ids); i++ {
		ranks = append(ranks, b.pairRank(ids[i], ids[i+1]))
	}
	for {
		best, at := uint64(noMerge), -1
		for i, r := range ranks {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		ids[at] = int32(uint32(best))
		ids = append(ids[:at+1], ids[at+2:]...)
		ranks = append(ranks[:at], ranks[at+1:]...)
		if at > 0 {
			ranks[at-1] = b.pairRank(ids[at-1], ids[at])
		}
		if at < len(ranks) {
			ranks[at] = b.pairRank(ids[at], ids[at+1])
		}
	}
	sc.ranks = ranks
	return append(out, ids...)
}

// mergeLarge merges a long run of symbols (ids, modified in place) with a
// binary heap of candidate merges keyed by rank<<32|position (lowest rank
// first, then leftmost) over a doubly linked list. Stale candidates (a side
// was merged away or changed) are recognized when popped: the pair now at
// that position has another rank. Memory is about 20 bytes per symbol.
func (b *BPE) mergeLarge(ids []int32, out []int32) ([]int32, error) {
	n := len(ids)
	if n >= math.MaxInt32 {
		return nil, fmt.Errorf("encode: a single pre-token of %d symbols is too long: %w", n, errs.ErrInvalidArgument)
	}
	// ids[i] is -1 once merged into its left neighbour.
	prev := make([]int32, n)
	next := make([]int32, n)
	for i := range n {
		prev[i] = int32(i - 1)
		next[i] = int32(i + 1)
	}
	next[n-1] = -1
	h := make(mergeHeap, 0, n)
	for i := 0; i+1 < n; i++ {
		if r := b.pairRank(ids[i], ids[i+1]); r != noMerge {
			h = append(h, r>>32<<32|uint64(i))
		}
	}
	h.init()
	for len(h) > 0 {
		top := h.pop()
		pos := int32(uint32(top))
		nx := next[pos]
		if ids[pos] < 0 || nx < 0 {
			continue
		}
		r := b.pairRank(ids[pos], ids[nx])
		if r>>32 != top>>32 {
			continue // stale
		}
		ids[pos] = int32(uint32(r))
		ids[nx] = -1
		nn := next[nx]
		next[pos] = nn
		if nn >= 0 {
			prev[nn] = pos
			if r2 := b.pairRank(ids[pos], ids[nn]); r2 != noMerge {
				h.push(r2>>32<<32 | uint64(pos))
			}
		}
		if p := prev[pos]; p >= 0 {
			if r2 := b.pairRank(ids[p], ids[pos]); r2 != noMerge {
				h.push(r2>>32<<32 | uint64(p))
			}
		}
	}
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out, nil
}

// mergeIDs merges a run of symbols by the smaller or larger method.
func (b *BPE) mergeIDs(ids []int32, out []int32, sc *mergeScratch) ([]int32, error) {
	if len(ids) <= smallWord {
		return b.mergeSmall(ids, out, sc), nil
	}
	return b.mergeLarge(ids, out)
}

// mergeHeap is a binary min-heap of rank<<32|position keys.
type mergeHeap []uint64

func (h mergeHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *mergeHeap) push(x uint64) {
	s := append(*h, x)
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p] <= x {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = x
	*h = s
}

func (h *mergeHeap) pop() uint64 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	if last > 0 {
		s.down(0)
	}
	return top
}

func (h mergeHeap) down(i int) {
	n := len(h)
	x := h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1] < h[c] {
			c++
		}
		if h[c] >= x {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = x
}
