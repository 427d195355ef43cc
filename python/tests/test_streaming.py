"""Streaming: pieces are whole UTF-8 characters, and leaving the loop stops
generation at once."""

from __future__ import annotations

import gc

import pytest

import bitnet
from pkg_helpers import greedy


def test_byte_fallback_tokens_decode_to_multibyte_text(stories):
    tok = stories.tokenizer
    ids = tok.encode("日本", add_bos=False)
    assert len(ids) > 2, "tok512 has no tokens for these characters; they are spelled in bytes"
    assert tok.decode(ids).strip() == "日本"
    # A prefix that ends inside a character decodes to a replacement character.
    assert "\ufffd" in tok.decode(ids[:-1])


def test_streamed_pieces_never_split_a_utf8_character(stories):
    """Near-uniform sampling over tok512 yields many byte-fallback tokens:
    some form multi-byte characters, most are invalid UTF-8. Each piece must
    be valid UTF-8 on its own (held-back bytes are released whole, invalid
    ones as U+FFFD), and the pieces must add up to generate's text."""
    multibyte = 0
    for seed in range(4):
        cfg = bitnet.GenerationConfig(
            max_new_tokens=200, temperature=50.0, top_k=0, top_p=1.0, seed=seed, ignore_eos=True
        )
        raw = list(stories._stream_bytes(b"", cfg))
        for piece in raw:
            piece.decode("utf-8")  # strict: raises on a split character
        text = "".join(p.decode("utf-8") for p in raw)
        assert text == stories.generate("", cfg)
        assert "".join(stories.generate_stream("", cfg)) == text
        multibyte += sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    assert multibyte > 0, "no multi-byte character was generated; the test checked nothing"


def test_breaking_out_of_a_stream_stops_generation_at_once(bit3m):
    cfg = greedy(250)
    full = bit3m.generate("Once upon a time", cfg)

    gen = bit3m.generate_stream("Once upon a time", cfg)
    pieces = [next(gen) for _ in range(3)]
    gen.close()
    assert full.startswith("".join(pieces))
    # Counted, not timed: closing the generator stopped the library after
    # the tokens already produced (at most one step more), not after 250.
    m = bit3m.last_metrics
    assert m.stop_reason == "stopped", m.stop_reason
    assert 3 <= m.generated_tokens <= 4, m.generated_tokens
    assert bit3m._core.users == 0, "the stream did not release its session"
    # The model is usable right away and gives the same text.
    assert bit3m.generate("Once upon a time", cfg) == full


def test_a_for_loop_break_releases_the_stream(bit3m):
    for i, _ in enumerate(bit3m.generate_stream("Once upon a time", greedy(200))):
        if i == 2:
            break
    gc.collect()
    assert bit3m._core.users == 0


def test_an_unstarted_stream_holds_nothing(bit3m):
    gen = bit3m.generate_stream("Once upon a time", greedy(5))
    assert bit3m._core.users == 0
    del gen
    gc.collect()
    assert bit3m._core.users == 0


def test_closing_the_model_during_a_stream_lets_the_stream_finish(stories_path):
    m = bitnet.BitNetModel.from_file(stories_path)
    want = m.generate("", greedy(30))
    gen = m.generate_stream("", greedy(30))
    first = next(gen)
    m.close()
    assert m.closed
    with pytest.raises(bitnet.ClosedError):
        m.generate("", greedy(3))
    rest = "".join(gen)
    assert first + rest == want
    assert m._core.freed
