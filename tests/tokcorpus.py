"""Generated test texts for the tokenizer differential tests: mixed scripts,
emoji sequences, whitespace runs of every kind (\\r\\n, \\t, Unicode spaces),
digits, code, special-token texts, escape-like sequences, control
characters, and a few long texts. Deterministic for a given seed.

Characters come from blocks whose letter/number/space categories have been
stable for many Unicode versions, so that the engine (Go's Unicode tables)
and the references (Oniguruma in Hugging Face tokenizers) classify them the
same way; lone surrogates are left out (Python cannot encode them as UTF-8).
"""

from __future__ import annotations

import random

WHITESPACE = [" ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u2000", "\u2003", "\u2009", "\u200a", "\u3000",
              "\u2028", "\u2029", "\u0085", "\u1680", "\u202f", "\u205f", "\x0b", "\x0c"]

RANGES = [
    (0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xFF), (0x100, 0x24F), (0x300, 0x36F), (0x391, 0x3A9), (0x3B1, 0x3C9),
    (0x410, 0x44F), (0x5D0, 0x5EA), (0x621, 0x64A), (0x660, 0x669), (0x905, 0x939), (0x93E, 0x94D),
    (0x966, 0x96F), (0xE01, 0xE3A), (0xAC00, 0xD7A3), (0x4E00, 0x9FA5), (0x3041, 0x3096), (0x30A1, 0x30FA),
    (0x1F600, 0x1F64F), (0x1F300, 0x1F5FF), (0x1F900, 0x1F9FF), (0x2190, 0x21FF), (0x2200, 0x22FF),
    (0x2500, 0x257F), (0x2150, 0x2182), (0x2070, 0x2071), (0x2074, 0x208E), (0x2010, 0x2027), (0x2030, 0x205E),
    (0xFF01, 0xFF5E), (0x01, 0x08), (0x0E, 0x1F), (0x7F, 0x84), (0x86, 0x9F), (0x200B, 0x200F), (0xFE00, 0xFE0F),
    (0xE000, 0xE0FF), (0x1D400, 0x1D6A5), (0x1D7CE, 0x1D7FF), (0xA1, 0xBF),
]

WORDS = ("the quick brown fox jumps over lazy dog Hello World tokenizer BitNet ternary weights a I HTTP iPhone "
         "McDonald's naïve Führer straße Ελληνικά Привет мир 日本語 中文 한국어 हिन्दी العربية עברית ไทย Tiếng ǅ ﬁ ſ").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "n't", "'", "''"]
CODE = ["func main() {", "}", "x := y + 1;", "if (a && b) { return; }", "#include <stdio.h>", "def f(x):",
        "    return x**2", "<div class=\"a\">", "SELECT * FROM t WHERE id = 42;", "a->b", "i++", "/* c */",
        "// ok", "$HOME", "~/.bashrc", "print(f\"{x!r}\")", "[1, 2, 3]", "{\"k\": null}", "x == y != z"]
SPECIALS = ["<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|reserved_special_token_5|>", "<s>", "</s>", "<unk>", "[INST]", "<0x0A>", "▁", "<|eot_id", "|>"]
ESCAPES = ["\\x00", "\\xff", "\\u00e9", "\\ud800", "\\n", "\\t", "%20", "%E2%82%AC", "&amp;", "&#x1F600;",
           "\\N{BULLET}", "\ufffd", "\x00", "\x1b[0m", "\u200d", "\ufeff", "e\u0301", "\U0001F469\u200d\U0001F4BB"]
EMOJI = ["🙂", "🦙", "👍🏽", "👨‍👩‍👧", "🇫🇷", "🇯🇵", "❤️", "✅", "😀😀", "🤖", "🏳️‍🌈", "1️⃣"]


def _chars(r: random.Random, n: int) -> str:
    lo, hi = r.choice(RANGES)
    return "".join(chr(r.randint(lo, hi)) for _ in range(n))


def _segment(r: random.Random) -> str:
    k = r.randrange(10)
    if k == 0:
        return "".join(r.choice(WHITESPACE) for _ in range(r.randint(1, 8)))
    if k == 1:
        return "".join(r.choice("0123456789") for _ in range(r.randint(1, 12)))
    if k == 2:
        return _chars(r, r.randint(1, 10))
    if k == 3:
        return r.choice(CODE)
    if k == 4:
        return r.choice(SPECIALS)
    if k == 5:
        return r.choice(ESCAPES)
    if k == 6:
        return r.choice(EMOJI)
    if k == 7:
        return r.choice(WORDS) + r.choice(CONTRACTIONS)
    return r.choice(WORDS)


def corpus(n: int, seed: int) -> list[str]:
    """n texts; the first few are edge cases."""
    r = random.Random(seed)
    out = ["", " ", "  ", "\n", "\r\n", "\t", "a", "\u00a0", "x \n", "x  ", "'s", "1234567", "🦙"]
    while len(out) < n:
        i = len(out)
        segments = r.randint(1, 20)
        if i % 200 == 0:
            segments = r.randint(300, 3000)
        parts = []
        for _ in range(segments):
            parts.append(_segment(r))
            sep = r.randrange(4)
            if sep == 0:
                parts.append(" ")
            elif sep == 1:
                parts.append(r.choice(WHITESPACE))
        out.append("".join(parts))
    return out[:n]
