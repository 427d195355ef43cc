package tokenize

import "strings"

// GPT-2's byte-level alphabet: every byte value is written as one printable
// character, so that a vocabulary of byte sequences can be stored as text.
// Bytes '!'..'~', '¡'..'¬' and '®'..'ÿ' stand for themselves; the other 68
// bytes, in increasing order, take U+0100, U+0101, ... (space becomes 'Ġ',
// newline 'Ċ').

// byteLevelTables holds the byte <-> character mapping.
type byteLevelTables struct {
	toRune [256]rune
	toByte [324]int16 // indexed by rune; -1 for characters outside the alphabet
}

// byteLevel is built once and never modified.
var byteLevel = newByteLevelTables()

func newByteLevelTables() *byteLevelTables {
	t := &byteLevelTables{}
	for i := range t.toByte {
		t.toByte[i] = -1
	}
	next := rune(256)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = next
			next++
		}
		t.toRune[b] = r
		t.toByte[r] = int16(b)
	}
	return t
}

// byteLevelEncode writes raw bytes in the byte-level alphabet.
func byteLevelEncode(raw string) string {
	var b strings.Builder
	b.Grow(2 * len(raw))
	for i := 0; i < len(raw); i++ {
		b.WriteRune(byteLevel.toRune[raw[i]])
	}
	return b.String()
}

// byteLevelDecode turns a string in the byte-level alphabet back into its
// bytes; ok is false when s holds a character outside the alphabet.
func byteLevelDecode(s string) (raw string, ok bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0 || int(r) >= len(byteLevel.toByte) || byteLevel.toByte[r] < 0 {
			return "", false
		}
		out = append(out, byte(byteLevel.toByte[r]))
	}
	return string(out), true
}
