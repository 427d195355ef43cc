package tokenize

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// symbol is a run of the text being merged: text[start:start+n], linked to
// its neighbours. n is 0 once the symbol was merged into its left neighbour.
type symbol struct {
	start, n   int
	prev, next int
}

// bigram is a candidate merge of two adjacent symbols whose concatenation
// (size bytes) is a vocabulary piece with the given score.
type bigram struct {
	left, right int
	score       float32
	size        int
}

// before orders the merge queue: highest score first, then leftmost.
func (a bigram) before(b bigram) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

// bigramQueue is a binary max-heap of bigrams in before order.
type bigramQueue []bigram

func (q *bigramQueue) push(b bigram) {
	h := append(*q, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *bigramQueue) pop() bigram {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l, best := 2*i+1, i
		if l < len(h) && h[l].before(h[best]) {
			best = l
		}
		if r := l + 1; r < len(h) && h[r].before(h[best]) {
			best = r
		}
		if best == i {
			break
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
	*q = h
	return top
}

// utf8SeqLen is llama.cpp's unicode_len_utf8: the length a lead byte
// announces, from its high nibble (continuation and invalid bytes count 1).
func utf8SeqLen(c byte) int {
	switch c >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// encodeText tokenizes one escaped fragment (spaces already U+2581) and
// appends the ids to out; llm_tokenizer_spm_session::tokenize.
func (s *SPM) encodeText(text string, out []int32) ([]int32, error) {
	if text == "" {
		return out, nil
	}
	syms := make([]symbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(utf8SeqLen(text[off]), len(text)-off)
		i := len(syms)
		next := i + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, symbol{start: off, n: n, prev: i - 1, next: next})
		off += n
	}

	q := make(bigramQueue, 0, len(syms))
	tryAdd := func(left, right int) {
		if left < 0 || right < 0 {
			return
		}
		l := syms[left]
		size := l.n + syms[right].n
		id, ok := s.ids[text[l.start:l.start+size]]
		if !ok {
			return
		}
		q.push(bigram{left: left, right: right, score: s.v.scoreOf(int(id)), size: size})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for len(q) > 0 {
		b := q.pop()
		l, r := &syms[b.left], &syms[b.right]
		// Skip stale candidates: one side was merged away or has grown.
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}

	// llama.cpp's resegment also re-splits a merged symbol that is not a
	// vocabulary piece into the two symbols it was made of (rev_merge). A
	// merge only ever happens when the merged text is a piece, so every
	// symbol that is not a piece is a single unmerged character and goes
	// straight to byte fallback, which is what this loop does.
	for i := 0; i != -1; i = syms[i].next {
		sym := syms[i]
		piece := text[sym.start : sym.start+sym.n]
		if id, ok := s.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			id := s.byteTok[piece[j]]
			if id < 0 {
				return nil, fmt.Errorf("encode: byte 0x%02X has no byte token and the vocabulary has no unknown token: %w",
					piece[j], errs.ErrTokenization)
			}
			out = append(out, id)
		}
	}
	return out, nil
}
