package tokenize

// splitLlama3 cuts text as Llama-3's pattern does:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// The alternatives are tried in order at each position, with the
// backtracking a regex engine would do; together they match every
// character, so the matches tile the text. The (?i) is ASCII-only, as in
// Hugging Face tokenizers (Oniguruma) and llama.cpp.
func splitLlama3(text string, dst []string) []string {
	for p := 0; p < len(text); {
		end := llama3Match(text, p)
		dst = append(dst, text[p:end])
		p = end
	}
	return dst
}

// llama3Match returns the end of the match that starts at p.
func llama3Match(s string, p int) int {
	c0, r0, n0 := runeAt(s, p)
	// ASCII letters run until the first non-ASCII byte or non-letter: the
	// common case, without decoding.
	if c0 == clsLetter {
		return scanLetters(s, p+n0)
	}
	if r0 == '\'' {
		if n := contraction(s, p, true); n > 0 {
			return p + n
		}
	}
	switch c0 {
	case clsNumber:
		end := p + n0
		for k := 1; k < 3 && end < len(s); k++ {
			c, _, n := runeAt(s, end)
			if c != clsNumber {
				break
			}
			end += n
		}
		return end
	case clsOther:
		// [^\r\n\p{L}\p{N}]?\p{L}+ with the optional character.
		if p+n0 < len(s) {
			if c1, _, n1 := runeAt(s, p+n0); c1 == clsLetter {
				return scanLetters(s, p+n0+n1)
			}
		}
		return othersThenNewlines(s, p)
	}
	// c0 is whitespace.
	if r0 != '\r' && r0 != '\n' && p+n0 < len(s) {
		c1, _, n1 := runeAt(s, p+n0)
		if c1 == clsLetter {
			return scanLetters(s, p+n0+n1)
		}
		if r0 == ' ' && c1 == clsOther {
			return othersThenNewlines(s, p+1)
		}
	}
	end, lastStart, lastNL := scanSpaces(s, p)
	if lastNL >= 0 {
		return lastNL // \s*[\r\n]+ backs off to the last line break
	}
	return spaceRunEnd(s, p, end, lastStart)
}

// scanLetters returns the end of the letter run from i.
func scanLetters(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c < 0x80 {
			if asciiClass[c] != clsLetter {
				return i
			}
			i++
			continue
		}
		cls, _, n := runeAt(s, i)
		if cls != clsLetter {
			return i
		}
		i += n
	}
	return i
}

// othersThenNewlines matches [^\s\p{L}\p{N}]+[\r\n]* at i, where s[i] is
// known to start a character of class other.
func othersThenNewlines(s string, i int) int {
	i = scanClass(s, i, clsOther)
	for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}
