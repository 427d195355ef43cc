"""Tokenizer, UniversalTokenizer and TokenizerDiscovery."""

from __future__ import annotations

import shutil

import pytest

import bitnet
from pkg_helpers import gguf_without_vocabulary

SEP = "\n__ggml_vocab_test__\n"


def _vectors(asset, name):
    inputs = asset(f"tokenizers/{name}.inp").read_text(encoding="utf-8").split(SEP)
    assert inputs[-1] == ""
    inputs = inputs[:-1]
    lines = asset(f"tokenizers/{name}.out").read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert len(lines) == len(inputs)
    return list(zip(inputs, ([int(x) for x in line.split()] for line in lines)))


def test_gguf_vocabulary_matches_llama_cpp_spm_vectors(asset):
    tok = bitnet.Tokenizer.from_file(asset("tokenizers/ggml-vocab-llama-spm.gguf"))
    assert tok.vocab_size == 32000 and tok.info.kind == "spm"
    assert (tok.bos_token_id, tok.eos_token_id) == (1, 2)
    cases = _vectors(asset, "ggml-vocab-llama-spm.gguf")
    assert len(cases) == 46
    for text, want in cases:
        assert tok.encode(text, add_bos=False) == want, text
    tok.close()


def test_model_tokenizer_encodes_with_bos_by_default(stories):
    tok = stories.tokenizer
    assert isinstance(tok, bitnet.Tokenizer)
    assert tok.vocab_size == len(tok) == 512
    assert tok.info.add_bos and tok.bos_token_id == 1 and tok.eos_token_id == 2
    ids = tok.encode("Once upon a time")
    assert ids[0] == 1 and ids[1:] == tok.encode("Once upon a time", add_bos=False)
    assert ids[:3] == [1, 403, 407]  # as llama.cpp encodes the golden story's start
    assert tok.decode(ids).strip() == "Once upon a time"
    assert tok.decode(ids, skip_special_tokens=False).count("<s>") <= 1
    assert tok.token_to_piece(403) == tok.token_to_bytes(403).decode()
    assert tok.encode("") == [1] and tok.encode("", add_bos=False) == []


def test_special_token_texts_are_parsed_only_when_asked(asset):
    tok = bitnet.Tokenizer.from_file(asset("tokenizers/ggml-vocab-llama-spm.gguf"))
    plain = tok.encode("<s>hi", add_bos=False)
    special = tok.encode("<s>hi", add_bos=False, add_special=True)
    assert 1 not in plain and special[0] == 1 and len(special) < len(plain)


def test_sentencepiece_model_file_gives_the_gguf_vocabulary_ids(asset, stories):
    tok = bitnet.UniversalTokenizer.from_file(asset("models/tok512.model"))
    assert isinstance(tok, bitnet.UniversalTokenizer) and tok.vocab_size == 512
    for text in ["Once upon a time, there was a little girl.", "Lily said: \"Hello!\"", "日本 42"]:
        assert tok.encode(text) == stories.tokenizer.encode(text), text


def test_gguf_tokenizer_from_a_model_file(stories_path, stories):
    tok = bitnet.UniversalTokenizer.from_gguf(stories_path)
    assert tok.encode("a red ball") == stories.tokenizer.encode("a red ball")
    assert str(stories_path) in tok.info.source


def test_hugging_face_tokenizer_json_matches_llama3_vectors(asset):
    tok = bitnet.Tokenizer.from_file(asset("tokenizers/llama3-tokenizer.json"))
    assert tok.vocab_size >= 128000
    for text, want in _vectors(asset, "ggml-vocab-llama-bpe.gguf"):
        assert tok.encode(text, add_bos=False) == want, text


def test_discovery_prefers_the_exact_path_then_colocated_then_embedded(tmp_path, stories_path, asset):
    model = tmp_path / "m.gguf"
    shutil.copyfile(stories_path, model)
    tok, d = bitnet.TokenizerDiscovery(model, offline=True).discover()
    assert d.strategy == bitnet.TokenizerStrategy.EMBEDDED and tok.vocab_size == 512
    shutil.copyfile(asset("models/tok512.model"), tmp_path / "tokenizer.model")
    tok, d = bitnet.TokenizerDiscovery(model, offline=True).discover()
    assert d.strategy == bitnet.TokenizerStrategy.COLOCATED
    assert d.path and d.path.endswith("tokenizer.model")
    assert tok.encode("the cat") == bitnet.Tokenizer.from_file(stories_path).encode("the cat")
    exact = tmp_path / "other.gguf"
    shutil.copyfile(stories_path, exact)
    tok, d = bitnet.TokenizerDiscovery(model, tokenizer_path=exact, offline=True).discover()
    assert d.strategy == bitnet.TokenizerStrategy.EXACT and d.path.endswith("other.gguf")
    assert isinstance(d.reason, str) and d.raw["strategy"]


def test_discovery_of_a_missing_exact_path_fails_clearly(tmp_path, stories_path):
    with pytest.raises(bitnet.BitNetIOError) as e:
        bitnet.TokenizerDiscovery(stories_path, tokenizer_path=tmp_path / "nope.json", offline=True).discover()
    assert "nope.json" in str(e.value)


def test_discovery_falls_back_to_a_mock_only_when_allowed(tmp_path):
    bare = gguf_without_vocabulary(tmp_path / "bare.gguf")
    with pytest.raises(bitnet.TokenizationError):
        bitnet.TokenizerDiscovery(bare, offline=True).discover()
    tok, d = bitnet.TokenizerDiscovery(bare, allow_mock=True, offline=True).discover()
    assert d.strategy == bitnet.TokenizerStrategy.MOCK and d.tried and "mock" in d.reason
    assert tok.decode(tok.encode("hello", add_bos=False)) == "hello"
