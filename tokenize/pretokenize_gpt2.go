package tokenize

import "unicode"

// splitGPT2 cuts text as GPT-2's pattern does:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2(text string, dst []string) []string {
	for p := 0; p < len(text); {
		end := gpt2Match(text, p)
		dst = append(dst, text[p:end])
		p = end
	}
	return dst
}

// gpt2Match returns the end of the match that starts at p.
func gpt2Match(s string, p int) int {
	if s[p] == '\'' {
		if n := contraction(s, p, false); n > 0 {
			return p + n
		}
	}
	q := p
	if s[p] == ' ' && p+1 < len(s) {
		if c1, _, _ := runeAt(s, p+1); c1 != clsSpace {
			q = p + 1 // the optional space of the next three alternatives
		}
	}
	c, _, n := runeAt(s, q)
	if c != clsSpace {
		return scanClass(s, q+n, c)
	}
	end, lastStart, _ := scanSpaces(s, p)
	return spaceRunEnd(s, p, end, lastStart)
}

// splitDefault is llama.cpp's split for BPE vocabularies without a known
// pre-tokenizer, four patterns applied one after the other, each cutting the
// pieces of the previous one (matches and the text between them both become
// pieces):
//
//	[\p{P}\$\+<=>\^`\|~]
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//	\p{N}+
//	[0-9][0-9][0-9]
func splitDefault(text string, dst []string) []string {
	var punct, words []string
	punct = isolatePunct(text, punct)
	for _, p := range punct {
		words = splitGPT2(p, words)
	}
	for _, w := range words {
		dst = isolateNumbers(w, dst)
	}
	return dst
}

// isDefaultPunct is the class [\p{P}\$\+<=>\^`\|~].
func isDefaultPunct(r rune) bool {
	switch r {
	case '$', '+', '<', '=', '>', '^', '`', '|', '~':
		return true
	}
	return unicode.IsPunct(r)
}

// isolatePunct makes each punctuation character a piece of its own.
func isolatePunct(s string, dst []string) []string {
	start := 0
	for i := 0; i < len(s); {
		_, r, n := runeAt(s, i)
		if isDefaultPunct(r) {
			if start < i {
				dst = append(dst, s[start:i])
			}
			dst = append(dst, s[i:i+n])
			start = i + n
		}
		i += n
	}
	if start < len(s) {
		dst = append(dst, s[start:])
	}
	return dst
}

// isolateNumbers cuts runs of numbers out of s, and runs of ASCII digits
// further into groups of three from their start (the rest of a run is a
// piece of its own).
func isolateNumbers(s string, dst []string) []string {
	start := 0
	for i := 0; i < len(s); {
		c, _, n := runeAt(s, i)
		if c != clsNumber {
			i += n
			continue
		}
		if start < i {
			dst = append(dst, s[start:i])
		}
		end := scanClass(s, i, clsNumber)
		dst = cutDigitTriples(s[i:end], dst)
		start, i = end, end
	}
	if start < len(s) {
		dst = append(dst, s[start:])
	}
	return dst
}

// cutDigitTriples applies [0-9][0-9][0-9] to a run of numbers.
func cutDigitTriples(s string, dst []string) []string {
	start := 0
	for i := 0; i+3 <= len(s); {
		if isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
			if start < i {
				dst = append(dst, s[start:i])
			}
			dst = append(dst, s[i:i+3])
			i += 3
			start = i
			continue
		}
		i++
	}
	if start < len(s) {
		dst = append(dst, s[start:])
	}
	return dst
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
