package tokenize

import (
	"math/rand/v2"
	"strings"
)

// Building blocks of the generated test texts: several scripts, emoji
// (with modifiers, joiners and flags), whitespace of every kind, digits,
// code, contractions, special-token texts and escape-like sequences.
var corpusParts = [][]string{
	{"the", "The", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Hello", "world", "tokenizer", "BitNet", "ternary", "weights", "a", "I", "HTTP", "iPhone", "McDonald"},
	{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", "n't", "'", "''", "`"},
	{"é", "naïve", "Führer", "straße", "Ελληνικά", "Привет", "мир", "日本語", "中文字符", "한국어", "हिन्दी", "العربية", "עברית", "ไทย", "Tiếng Việt", "ǅ", "ﬁ", "ſ"},
	{"🙂", "🦙", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "✅", "😀😀", "🤖"},
	{" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\u00a0", "\u2000", "\u2003", "\u3000", "\u2028", "\u0085", "\v", "\f", "\r"},
	{"0", "7", "42", "123", "2024", "3.14159", "1,000,000", "½", "²", "٣", "१२३", "0x1F"},
	{"func main() {", "}", "x := y + 1;", "if (a && b) { return; }", "#include <stdio.h>", "def f(x):", "    return x**2", "<div class=\"a\">", "SELECT * FROM t;", "a->b", "i++", "/* c */", "// ok", "$HOME", "~/.bashrc"},
	{".", ",", "!", "?", "...", "—", "–", "(", ")", "[", "]", "{", "}", "\"", "«", "»", "¿", "¡", "@", "#", "%", "&", "*", "<", ">", "|", "\\", "/", "^", "_", "=", "+", "-"},
	{"<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>", "<s>", "</s>", "<unk>", "<|start_header_id|>", "[INST]", "<0x0A>", "▁"},
	{"\\x00", "\\u00e9", "\\n", "%20", "&amp;", "&#x1F600;", "\\ud800", "\ufffd", "\x01", "\x1b[0m", "\x7f", "\u200b", "\u200d", "\ufeff", "\u0301", "e\u0301"},
}

// corpus returns n texts generated from seed: mostly short mixes of the
// parts above, some runs of one kind, and a few long texts.
func corpus(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 0x70c1))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var b strings.Builder
		words := 1 + r.IntN(12)
		switch {
		case i%97 == 0:
			words = 500 + r.IntN(2000) // long
		case i%13 == 0:
			// a run of one kind (whitespace, digits, punctuation...)
			part := corpusParts[r.IntN(len(corpusParts))]
			for range 1 + r.IntN(30) {
				b.WriteString(part[r.IntN(len(part))])
			}
			out = append(out, b.String())
			continue
		}
		for range words {
			part := corpusParts[r.IntN(len(corpusParts))]
			b.WriteString(part[r.IntN(len(part))])
			if r.IntN(3) > 0 {
				b.WriteByte(' ')
			}
		}
		out = append(out, b.String())
	}
	return out
}
