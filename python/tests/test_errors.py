"""Every exception class comes from a real failing call, with a message
that says what went wrong."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

import bitnet
from bitnet import errors
from pkg_helpers import gguf_without_vocabulary, greedy


def test_missing_model_file_raises_bitnet_io_error(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(bitnet.BitNetIOError) as e:
        bitnet.BitNetModel.from_file(missing)
    assert isinstance(e.value, OSError) and isinstance(e.value, bitnet.BitNetError)
    assert e.value.code == errors.ERR_IO and "nope.gguf" in str(e.value)
    with pytest.raises(bitnet.BitNetIOError, match="nope.model"):
        bitnet.Tokenizer.from_file(tmp_path / "nope.model")


def test_corrupt_model_file_raises_model_error(tmp_path, stories_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"this is not a model file at all" * 10)
    with pytest.raises(bitnet.ModelError) as e:
        bitnet.BitNetModel.from_file(junk)
    assert e.value.code in (errors.ERR_FORMAT, errors.ERR_MODEL) and "junk.gguf" in str(e.value)
    # A real GGUF cut in the middle of its tensor data.
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(stories_path.read_bytes()[: stories_path.stat().st_size // 2])
    with pytest.raises(bitnet.ModelError) as e:
        bitnet.BitNetModel.from_file(truncated)
    assert e.value.code == errors.ERR_FORMAT and e.value.message


def test_bad_config_values_raise_config_error_naming_the_field(stories):
    cases = [
        (dict(top_p=1.5), "top_p"),
        (dict(max_new_tokens=0), "max_new_tokens"),
        (dict(temperature=-1.0), "temperature"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(top_k=-3), "top_k"),
        (dict(seed=-1), "seed"),
        (dict(stop_sequences=[""]), "stop_sequences"),
        (dict(repetition_penalty=0.0), "repetition_penalty"),
        (dict(add_bos="yes"), "add_bos"),
    ]
    for kw, field in cases:
        with pytest.raises(bitnet.ConfigError) as e:
            bitnet.GenerationConfig(**kw)
        assert e.value.field == field and field in str(e.value), kw
        assert isinstance(e.value, ValueError)
    # A field changed after construction is checked when used.
    cfg = bitnet.GenerationConfig()
    cfg.min_p = 2.0
    with pytest.raises(bitnet.ConfigError, match="min_p"):
        stories.generate("x", cfg)
    with pytest.raises(bitnet.ConfigError, match="max_seq_len"):
        bitnet.ModelConfig(max_seq_len=0)
    with pytest.raises(bitnet.ConfigError, match="device"):
        bitnet.ModelConfig(device="tpu")


def test_invalid_arguments_rejected_by_the_library_raise_config_error(stories):
    with pytest.raises(bitnet.ConfigError) as e:
        stories.prefill([1, 99999])
    assert e.value.code == errors.ERR_INVALID_ARGUMENT and "99999" in str(e.value)
    with pytest.raises(bitnet.ConfigError) as e:
        bitnet.InferenceEngine(stories).forward([1, 512])
    assert e.value.code == errors.ERR_INVALID_ARGUMENT


def test_use_after_close_raises_closed_error(stories_path):
    m = bitnet.BitNetModel.from_file(stories_path)
    tok = m.tokenizer
    m.close()
    m.close()  # idempotent
    for call in (
        lambda: m.generate("x", greedy(2)),
        lambda: m.generate_stream("x", greedy(2)),
        lambda: m.prefill([1, 2]),
        lambda: m.tokenizer,
        lambda: m.metadata,
        lambda: tok.encode("x"),
    ):
        with pytest.raises(bitnet.ClosedError) as e:
            call()
        assert e.value.code == errors.ERR_CLOSED and "close" in str(e.value)
    assert m.model_info.vocab_size == 512  # the description stays readable
    t = bitnet.Tokenizer.from_file(stories_path)
    t.close()
    with pytest.raises(bitnet.ClosedError):
        t.decode([1])
    s = bitnet.Sampler(bitnet.SamplingConfig(seed=1))
    s.close()
    with pytest.raises(bitnet.ClosedError):
        s.sample(np.zeros(4, np.float32))


def _write_safetensors(path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)


def test_safetensors_without_config_and_incomplete_folders_raise_typed_errors(tmp_path, monkeypatch):
    st = tmp_path / "model.safetensors"
    _write_safetensors(st)
    with pytest.raises(bitnet.BitNetIOError, match="config.json") as e:
        bitnet.BitNetModel.from_file(st)
    assert e.value.code == errors.ERR_IO
    # A safetensors file under another name is recognized by its content.
    odd = tmp_path / "weights.bin"
    odd.write_bytes(st.read_bytes())
    with pytest.raises(bitnet.BitNetIOError, match="config.json"):
        bitnet.BitNetModel.from_file(odd)
    hf = tmp_path / "hf-model"
    hf.mkdir()
    (hf / "config.json").write_text('{"architectures": ["BitnetForCausalLM"]}')
    _write_safetensors(hf / "model.safetensors")
    with pytest.raises(bitnet.ModelError, match="hidden_size") as e:
        bitnet.BitNetModel.from_file(hf)
    assert e.value.code == errors.ERR_MODEL
    # The hub, offline with an empty cache: a clear I/O error, no network.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(bitnet.BitNetIOError, match="offline"):
        bitnet.BitNetModel.from_pretrained("microsoft/bitnet-b1.58-2B-4T")
    with pytest.raises(bitnet.BitNetIOError, match="revision='v2'"):
        bitnet.BitNetModel.from_pretrained_with_config("1bitLLM/bitnet_b1_58-large", bitnet.ModelConfig(), revision="v2")


def test_prompt_longer_than_the_context_raises_capacity_error(stories_path):
    with bitnet.BitNetModel.from_file(stories_path, bitnet.ModelConfig(max_seq_len=16)) as m:
        long_prompt = "Once upon a time there was a little girl named Lily who loved to play outside"
        assert len(m.tokenizer.encode(long_prompt)) > 16
        with pytest.raises(bitnet.CapacityError) as e:
            m.generate(long_prompt, greedy(4))
        assert e.value.code == errors.ERR_CAPACITY and "16" in str(e.value)
        with pytest.raises(bitnet.CapacityError):
            list(m.generate_stream(long_prompt, greedy(4)))
        with pytest.raises(bitnet.CapacityError):
            m.prefill(list(range(3, 40)))
        # The model stays usable.
        assert m.generate("", greedy(4))
        assert m._core.users == 0


def test_nan_logits_raise_numeric_error():
    nan = np.full(8, np.nan, dtype=np.float32)
    with pytest.raises(bitnet.NumericError, match="NaN"):
        bitnet.argmax(nan)
    with pytest.raises(bitnet.NumericError):
        bitnet.softmax(nan)
    # The library's sampler agrees.
    with bitnet.Sampler(bitnet.SamplingConfig(temperature=0.0)) as s, pytest.raises(bitnet.NumericError) as e:
        s.sample(nan)
    assert e.value.code == errors.ERR_NUMERIC and e.value.message


def test_missing_device_raises_device_error(stories_path):
    gone = bitnet.Device.cuda(99)
    assert not gone.is_available()
    with pytest.raises(bitnet.DeviceError) as e:
        gone.memory_info()
    assert e.value.code == errors.ERR_DEVICE and "cuda" in str(e.value).lower()
    with pytest.raises(bitnet.DeviceError):
        gone.capabilities()
    with pytest.raises(bitnet.DeviceError):
        bitnet.BitNetModel.from_file(stories_path, bitnet.ModelConfig(device=gone))
    if not bitnet.Device.cuda(0).is_available():
        with pytest.raises(bitnet.DeviceError, match="(?i)cuda"):
            bitnet.BitNetModel.from_file(stories_path, bitnet.ModelConfig(device=bitnet.Device.cuda(0)))


def test_tokenizer_failures_raise_tokenization_error(tmp_path, stories):
    with pytest.raises(bitnet.TokenizationError) as e:
        stories.tokenizer.decode([100000])
    assert e.value.code == errors.ERR_TOKENIZATION and "100000" in str(e.value)
    with pytest.raises(bitnet.TokenizationError, match="100000"):
        stories.tokenizer.token_to_piece(100000)
    # A model file with no vocabulary and nothing next to it.
    bare = gguf_without_vocabulary(tmp_path / "bare.gguf")
    with pytest.raises(bitnet.TokenizationError) as e:
        bitnet.TokenizerDiscovery(bare, offline=True).discover()
    assert "bare.gguf" in str(e.value) and "tried" in str(e.value)


def test_unsupported_tokenizer_file_raises_model_error(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": {"type": "Unigram-ish", "vocab": 7}}')
    with pytest.raises(bitnet.ModelError) as e:
        bitnet.Tokenizer.from_file(bad)
    assert e.value.code == errors.ERR_UNSUPPORTED and "Unigram-ish" in str(e.value)
    bad.write_text("{not json")
    with pytest.raises(bitnet.ModelError) as e:
        bitnet.Tokenizer.from_file(bad)
    assert "tokenizer.json" in str(e.value)


def test_every_library_code_maps_to_its_exception_class():
    want = {
        errors.ERR_INTERNAL: bitnet.InternalError,
        errors.ERR_INVALID_ARGUMENT: bitnet.ConfigError,
        errors.ERR_IO: bitnet.BitNetIOError,
        errors.ERR_FORMAT: bitnet.ModelError,
        errors.ERR_UNSUPPORTED: bitnet.ModelError,
        errors.ERR_MODEL: bitnet.ModelError,
        errors.ERR_TOKENIZATION: bitnet.TokenizationError,
        errors.ERR_QUANTIZATION: bitnet.QuantizationError,
        errors.ERR_DEVICE: bitnet.DeviceError,
        errors.ERR_CAPACITY: bitnet.CapacityError,
        errors.ERR_MEMORY: bitnet.BitNetMemoryError,
        errors.ERR_NUMERIC: bitnet.NumericError,
        errors.ERR_CANCELED: bitnet.CanceledError,
        errors.ERR_CLOSED: bitnet.ClosedError,
        errors.ERR_TIMEOUT: bitnet.BitNetTimeoutError,
        errors.ERR_BUFFER_TOO_SMALL: bitnet.CapacityError,
        errors.ERR_FORKED: bitnet.ForkError,
    }
    from bitnet import _native

    header_codes = {v for k, v in _native._state.consts.items() if k.startswith("BITNET_ERR_")}
    assert header_codes == set(want)
    for code, cls in want.items():
        e = errors.from_code(code, "boom")
        assert type(e) is cls and e.code == code and str(e) == "boom"
    assert issubclass(bitnet.BitNetMemoryError, MemoryError)
    assert issubclass(bitnet.BitNetTimeoutError, TimeoutError)
    assert issubclass(bitnet.BitNetIOError, OSError) and issubclass(bitnet.ConfigError, ValueError)
