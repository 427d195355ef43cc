package tokenize

import (
	"cmp"
	"slices"
	"strings"
)

// specialMatcher finds the texts of added tokens (control and user-defined
// tokens) in the input, leftmost first and, among tokens starting at the
// same place, longest first (Hugging Face's added-vocabulary matching).
// Control tokens are matched only when parsing special tokens; user-defined
// tokens always.
type specialMatcher struct {
	text    []string  // token text by index
	id      []int32   // token id by index
	control []bool    // needs ParseSpecial
	byFirst [][]int32 // per first byte: indices, longest first
	start   [2][256]bool
	any     [2]bool // start[mode] has a true entry
}

// newSpecialMatcher indexes the control, unknown and user-defined tokens of
// a vocabulary (empty pieces are ignored); user-defined ones are always
// matched, the others only when parsing special tokens.
func newSpecialMatcher(tokens []string, typeOf func(int) int32) *specialMatcher {
	m := &specialMatcher{byFirst: make([][]int32, 256)}
	for i, tok := range tokens {
		typ := typeOf(i)
		if tok == "" || typ != TokenTypeControl && typ != TokenTypeUnknown && typ != TokenTypeUserDefined {
			continue
		}
		k := int32(len(m.text))
		m.text = append(m.text, tok)
		m.id = append(m.id, int32(i))
		m.control = append(m.control, typ != TokenTypeUserDefined)
		m.byFirst[tok[0]] = append(m.byFirst[tok[0]], k)
		m.start[1][tok[0]], m.any[1] = true, true
		if typ == TokenTypeUserDefined {
			m.start[0][tok[0]], m.any[0] = true, true
		}
	}
	for _, list := range m.byFirst {
		slices.SortStableFunc(list, func(a, b int32) int { return cmp.Compare(len(m.text[b]), len(m.text[a])) })
	}
	return m
}

// split cuts text into fragments: plain text (id -1) and matched tokens.
func (m *specialMatcher) split(text string, parseSpecial bool, dst []fragment) []fragment {
	mode := 0
	if parseSpecial {
		mode = 1
	}
	if !m.any[mode] {
		return append(dst, fragment{text: text, id: -1})
	}
	start := &m.start[mode]
	plain := 0
	for i := 0; i < len(text); {
		if !start[text[i]] {
			i++
			continue
		}
		k := m.matchAt(text, i, parseSpecial)
		if k < 0 {
			i++
			continue
		}
		if plain < i {
			dst = append(dst, fragment{text: text[plain:i], id: -1})
		}
		dst = append(dst, fragment{id: m.id[k]})
		i += len(m.text[k])
		plain = i
	}
	if plain < len(text) {
		dst = append(dst, fragment{text: text[plain:], id: -1})
	}
	return dst
}

// matchAt returns the index of the longest active token at text[i:], -1 if
// none.
func (m *specialMatcher) matchAt(text string, i int, parseSpecial bool) int32 {
	for _, k := range m.byFirst[text[i]] {
		if m.control[k] && !parseSpecial {
			continue
		}
		if strings.HasPrefix(text[i:], m.text[k]) {
			return k
		}
	}
	return -1
}
