"""Text generation through BitNetModel: golden greedy runs, streaming,
seeds, prefix reuse, async, metrics, and the low-level InferenceEngine."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

import bitnet
from pkg_helpers import GOLDEN_STEPS, greedy, run_cli


@pytest.mark.parametrize(
    "src, typ, gold",
    [
        ("models/stories260K.bin", "f32", "stories260K.runc.greedy.txt"),
        ("models/bitllama2c-3M.bin", "i2_s", "bitllama2c-3M.runbit.greedy.txt"),
        ("models/bitllama2c-3M.bin", "tq2_0", "bitllama2c-3M.runbit.greedy.txt"),
    ],
)
def test_greedy_generation_from_bos_equals_the_reference_text(convert, golden, src, typ, gold):
    with bitnet.BitNetModel.from_file(convert(src, typ)) as m:
        text = m.generate("", greedy())
        assert text + "\n" == golden(gold)
        met = m.last_metrics
        assert met.generated_tokens == GOLDEN_STEPS
        assert met.prompt_tokens == 1  # BOS
        assert met.stop_reason == "max_tokens"


def test_streamed_pieces_concatenate_to_the_generated_text(bit3m, golden):
    pieces = list(bit3m.generate_stream("", greedy()))
    assert len(pieces) > 100
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces) + "\n" == golden("bitllama2c-3M.runbit.greedy.txt")
    assert bit3m.last_metrics.generated_tokens == GOLDEN_STEPS


def test_streaming_and_generate_agree_with_a_prompt_and_sampling(stories):
    cfg = bitnet.GenerationConfig(max_new_tokens=60, temperature=0.9, top_k=40, top_p=0.95, seed=1234)
    assert "".join(stories.generate_stream("Once upon a time", cfg)) == stories.generate("Once upon a time", cfg)


def test_same_seed_gives_the_same_text_and_different_seeds_differ(stories):
    def run(seed):
        return stories.generate("Once upon a time", bitnet.GenerationConfig(max_new_tokens=80, temperature=1.0, seed=seed))

    a, b = run(7), run(7)
    assert a == b
    assert any(run(s) != a for s in (8, 9, 10)), "different seeds gave the same text"


def test_continuation_of_a_prompt_starts_where_the_prompt_ends(stories):
    text = stories.generate("Once upon a time", greedy(12))
    assert text.startswith(", there was a little girl"), text


def test_stop_sequence_ends_the_text_before_it(stories):
    full = stories.generate("", greedy(60))
    stop = "Lily"
    assert stop in full
    cut = stories.generate("", greedy(60, stop_sequences=[stop]))
    assert cut == full[: full.index(stop)]
    assert stories.last_metrics.stop_reason == "stop_sequence"
    # Streaming holds back text that may start a stop sequence.
    assert "".join(stories.generate_stream("", greedy(60, stop_sequences=[stop]))) == cut


def test_metrics_describe_the_last_call(stories):
    stories.generate("Once upon a time", greedy(20))
    m = stories.last_metrics
    assert isinstance(m, bitnet.PerformanceMetrics)
    assert m.generated_tokens == 20 and m.stop_reason == "max_tokens"
    assert m.prompt_tokens + m.cached_prompt_tokens == len(stories.tokenizer.encode("Once upon a time"))
    assert m.timing.total >= m.timing.prefill >= 0 and m.timing.decode >= 0
    assert m.throughput.decode > 0 and m.throughput.e2e > 0
    assert m.tokenizer.vocab_size == 512 and m.tokenizer.bos_id == 1 and m.tokenizer.eos_id == 2


def test_prefill_makes_the_next_generate_reuse_the_cache(stories_path):
    with bitnet.BitNetModel.from_file(stories_path) as fresh:
        want = fresh.generate("Once upon a time, there was a big", greedy(30))
    with bitnet.BitNetModel.from_file(stories_path) as m:
        prefix = m.tokenizer.encode("Once upon a time, there was")
        m.prefill(prefix)
        got = m.generate("Once upon a time, there was a big", greedy(30))
        assert got == want
        assert m.last_metrics.cached_prompt_tokens >= len(prefix) - 1
        # Prefilling what the session already holds evaluates nothing new.
        m.prefill(prefix)
        assert m.generate("Once upon a time, there was a big", greedy(30)) == want
        assert m.last_metrics.cached_prompt_tokens >= len(prefix) - 1


def test_async_generation_matches_the_sync_results(stories):
    cfg = greedy(40)
    want = stories.generate("Once upon a time", cfg)

    async def main():
        text = await stories.agenerate("Once upon a time", cfg)
        pieces = [p async for p in stories.agenerate_stream("Once upon a time", cfg)]
        both = await asyncio.gather(stories.agenerate("Once upon a time", cfg), stories.agenerate("Once upon a time", cfg))
        # Leaving an async stream early releases it.
        first = None
        async for p in stories.agenerate_stream("Once upon a time", greedy(200)):
            first = p
            break
        return text, pieces, both, first

    text, pieces, both, first = asyncio.run(main())
    assert text == want and "".join(pieces) == want and list(both) == [want, want]
    assert want.startswith(first)
    assert stories._core.users == 0


def test_model_info_and_config_describe_the_file(bit3m, stories):
    i = bit3m.model_info
    assert i.architecture in ("llama", "bitnet") and i.ternary and "ternary" in i.features
    assert i.quantization.qtype == bitnet.QuantizationType.I2_S
    assert 1.9 < i.quantization.bits_per_weight < 2.5
    assert i.quantization.compression_ratio == pytest.approx(32 / i.quantization.bits_per_weight)
    assert (i.vocab_size, i.embedding_length, i.block_count, i.head_count, i.head_count_kv) == (512, 256, 8, 8, 4)
    assert i.num_parameters > 3_000_000 and i.model_size == bit3m.path.stat().st_size
    assert i.context_length == 2048  # ModelConfig.max_seq_len
    assert i.device == bitnet.Device.CPU
    c = bit3m.config
    assert (c.vocab_size, c.hidden_size, c.num_layers, c.num_heads) == (512, 256, 8, 8)
    assert c.quantization == "I2_S" and c.n_threads == 2
    s = stories.model_info
    assert not s.ternary and s.quantization.qtype == bitnet.QuantizationType.F32
    assert s.quantization.bits_per_weight == pytest.approx(32.0)
    assert stories.metadata["general.architecture"] == s.architecture


def test_context_length_follows_the_model_config(stories_path):
    with bitnet.BitNetModel.from_file(stories_path, bitnet.ModelConfig(max_seq_len=None)) as m:
        assert m.model_info.context_length == m.model_info.train_context_length == 512
    with bitnet.BitNetModel.from_file(stories_path, bitnet.ModelConfig(max_seq_len=32)) as m:
        assert m.model_info.context_length == 32
        m.generate("", greedy(100))
        assert m.last_metrics.stop_reason == "context_full"
        # 31 positions after BOS, and the last token sampled needs none.
        assert m.last_metrics.generated_tokens == 32


def test_engine_forward_matches_the_cli_logits(stories, stories_path):
    ids = [1, 403, 407, 261, 378]
    engine = bitnet.InferenceEngine(stories)
    got = engine.forward(ids)
    assert got.dtype == np.float32 and got.shape == (len(ids), 512)
    out = json.loads(run_cli("logits", "--model", stories_path, "--tokens", ",".join(map(str, ids)), "--json").stdout)
    want = np.array(out["logits"], dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # next_token_logits evaluates on a fresh sequence too.
    last = engine.next_token_logits(ids)
    np.testing.assert_allclose(last, got[-1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(engine.next_token_logits(ids, temperature=2.0), got[-1] / 2, rtol=1e-6, atol=1e-6)
    engine.close()


def test_engine_greedy_loop_reproduces_generate(stories):
    want = stories.generate("", greedy(16))
    tok = stories.tokenizer
    ids = [tok.bos_token_id]
    with bitnet.InferenceEngine(stories) as engine:
        for _ in range(16):
            logits = engine.next_token_logits(ids)
            nxt = engine.sample_token(logits, bitnet.SamplingConfig(temperature=0.0))
            assert nxt == bitnet.argmax(logits)
            ids.append(nxt)
    assert tok.decode(ids).lstrip() == want.lstrip()


def test_closed_engine_returns_its_session(stories):
    before = stories._core.users
    e = bitnet.InferenceEngine(stories)
    e.forward([1, 403])
    assert stories._core.users == before + 1
    e.close()
    assert stories._core.users == before
    with pytest.raises(bitnet.ClosedError):
        e.forward([1])
