"""Differential tests of the engine's tokenizers (through `bitnet tokenize
--batch`) against the reference implementations: Hugging Face `tokenizers`
on Llama-3's tokenizer.json (and its pre-tokenizer Split patterns), and
`sentencepiece` on Llama-2's tokenizer.model and the TinyStories tok512.model.
Each runs on 10,000 generated texts (tokcorpus.py): ids must agree exactly,
and decoding the engine's ids must give the text back wherever the reference
round-trips it.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sentencepiece as spm  # noqa: E402
from tokenizers import Regex, Tokenizer, pre_tokenizers  # noqa: E402

from tokcorpus import corpus  # noqa: E402

N = 10_000

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
# llama.cpp's "default" BPE split: four patterns, each applied to the pieces of the previous one.
DEFAULT_PATTERNS = [r"[\p{P}\$\+<=>\^`\|~]", r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
                    r"\p{N}+", r"[0-9][0-9][0-9]"]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return corpus(N, seed=20240501)


def batch(bitnet_bin, lines, *args) -> list:
    """Runs `bitnet tokenize --batch ARGS` on lines (JSON-encoded, one per line)."""
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    p = subprocess.run([str(bitnet_bin), "tokenize", "--batch", *map(str, args)], input=data,
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    # split on "\n" only: str.splitlines would also cut at U+0085, U+2028, ...
    out = [json.loads(line) for line in p.stdout.decode().split("\n")[:-1]]
    assert len(out) == len(lines)
    return out


def assert_same(name, texts, got, want):
    bad = [(t, g, w) for t, g, w in zip(texts, got, want) if g != w]
    if bad:
        detail = "\n".join(f"  {t!r}\n    engine    {g}\n    reference {w}" for t, g, w in bad[:5])
        pytest.fail(f"{name}: {len(bad)} of {len(texts)} texts differ, e.g.\n{detail}", pytrace=False)


@pytest.fixture(scope="module")
def llama3(asset):
    tok = Tokenizer.from_file(str(asset("tokenizers/llama3-tokenizer.json")))
    return tok


@pytest.mark.parametrize("path", ["tokenizers/llama3-tokenizer.json", "tokenizers/llama3-tiktoken-ranks.model"])
def test_llama3_ids_match_hf_tokenizers(bitnet_bin, asset, llama3, texts, path):
    llama3.encode_special_tokens = True  # special-token texts are plain text
    want = [e.ids for e in llama3.encode_batch(texts, add_special_tokens=False)]
    got = batch(bitnet_bin, texts, "--model", asset(path), "--no-bos")
    assert_same(path, texts, got, want)


def test_llama3_special_token_parsing_matches_hf_tokenizers(bitnet_bin, asset, llama3, texts):
    llama3.encode_special_tokens = False
    want = [e.ids for e in llama3.encode_batch(texts, add_special_tokens=False)]
    got = batch(bitnet_bin, texts, "--model", asset("tokenizers/llama3-tokenizer.json"), "--no-bos", "--special")
    assert_same("--special", texts, got, want)


def test_llama3_decode_gives_the_text_back(bitnet_bin, asset, llama3, texts):
    model = asset("tokenizers/llama3-tokenizer.json")
    ids = batch(bitnet_bin, texts, "--model", model, "--no-bos")
    back = batch(bitnet_bin, ids, "--model", model, "--decode")
    ref = llama3.decode_batch(ids, skip_special_tokens=False)
    assert_same("decode vs hf", texts, back, ref)
    round_trips = [t for t, r in zip(texts, ref) if r == t]
    assert len(round_trips) == len(texts)  # byte-level BPE round-trips everything
    assert_same("decode(encode(s))", texts, back, texts)


def hf_split(pre, texts):
    return [[p for p, _ in pre.pre_tokenize_str(t)] for t in texts]


@pytest.mark.parametrize("name,pre", [
    ("llama3", pre_tokenizers.Split(Regex(LLAMA3_PATTERN), "isolated")),
    ("gpt2", pre_tokenizers.Split(Regex(GPT2_PATTERN), "isolated")),
    ("default", pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(p), "isolated") for p in DEFAULT_PATTERNS])),
])
def test_pre_tokenizer_splits_match_hf_tokenizers(bitnet_bin, texts, name, pre):
    got = batch(bitnet_bin, texts, "--split", "--pretokenizer", name)
    assert_same(f"{name} split", texts, got, hf_split(pre, texts))


def test_llama3_model_split_is_the_llama3_pattern(bitnet_bin, asset, texts):
    got = batch(bitnet_bin, texts[:500], "--split", "--model", asset("tokenizers/llama3-tokenizer.json"))
    want = hf_split(pre_tokenizers.Split(Regex(LLAMA3_PATTERN), "isolated"), texts[:500])
    assert_same("model split", texts[:500], got, want)


@pytest.mark.parametrize("path", ["tokenizers/llama2-tokenizer.model", "tokenizers/ggml-vocab-llama-spm.gguf",
                                  "models/tok512.model"])
def test_sentencepiece_ids_match_and_decode_round_trips(bitnet_bin, asset, texts, path):
    ref_model = "models/tok512.model" if "tok512" in path else "tokenizers/llama2-tokenizer.model"
    sp = spm.SentencePieceProcessor(model_file=str(asset(ref_model)))
    want = sp.encode(texts)
    model = asset(path)
    got = batch(bitnet_bin, texts, "--model", model, "--no-bos")
    assert_same(path, texts, got, want)
    back = batch(bitnet_bin, got, "--model", model, "--decode")
    ref = [sp.decode(ids) for ids in want]
    assert_same(f"{path} decode vs sentencepiece", texts, back, ref)
    pairs = [(t, b) for t, b, r in zip(texts, back, ref) if r == t]
    assert len(pairs) > len(texts) // 4
    assert_same(f"{path} decode(encode(s))", [t for t, _ in pairs], [b for _, b in pairs], [t for t, _ in pairs])


def llama2_tokenizer_json(sp, metaspace=False) -> str:
    """Llama-2's tokenizer.model exported as transformers' LlamaConverter
    writes tokenizer.json (SentencePiece-style BPE with byte fallback)."""
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    scores = {sp.id_to_piece(i): sp.get_score(i) for i in range(sp.get_piece_size())}
    merges = []
    for piece, score in scores.items():
        local = [(piece[:k], piece[k:], score) for k in range(1, len(piece))
                 if piece[:k] in vocab and piece[k:] in vocab]
        merges += sorted(local, key=lambda x: (vocab[x[0]], vocab[x[1]]))
    merges = [[a, b] for a, b, _ in sorted(merges, key=lambda x: x[2], reverse=True)]
    added = [{"id": i, "content": sp.id_to_piece(i), "special": True, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False} for i in range(sp.get_piece_size())
             if sp.is_control(i) or sp.is_unknown(i)]
    doc = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    if metaspace:  # transformers' LlamaConverter with legacy=False
        doc["normalizer"] = None
        doc["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    return json.dumps(doc)


@pytest.mark.parametrize("metaspace", [False, True])
def test_sentencepiece_style_tokenizer_json_matches_hf_tokenizers(bitnet_bin, asset, texts, tmp_path, metaspace):
    sp = spm.SentencePieceProcessor(model_file=str(asset("tokenizers/llama2-tokenizer.model")))
    doc = llama2_tokenizer_json(sp, metaspace)
    path = tmp_path / "tokenizer.json"
    path.write_text(doc)
    hf = Tokenizer.from_str(doc)
    hf.encode_special_tokens = True
    want = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    got = batch(bitnet_bin, texts, "--model", path, "--no-bos")
    assert_same("llama-2 tokenizer.json", texts, got, want)
    back = batch(bitnet_bin, got, "--model", path, "--decode")
    ref = hf.decode_batch(want, skip_special_tokens=True)
    assert_same("llama-2 tokenizer.json decode", texts, back, ref)
