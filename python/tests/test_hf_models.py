"""Hugging Face model folders and safetensors files through the package:
llama2.c checkpoints from the shared assets written as LlamaForCausalLM /
BitNetForCausalLM / BitnetForCausalLM folders with PyPI's safetensors and
numpy, loaded with BitNetModel.from_file and converted to GGUF with the CLI,
all reproducing the reference programs' greedy text."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

import bitnet
from bitnet import errors
from hf_helpers import write_hf_folder
from pkg_helpers import greedy, run_cli


@pytest.fixture(scope="module")
def hf_dir(asset, tmp_path_factory):
    """hf_dir(model, arch, weights, ...) -> a folder, written once per module."""
    root = tmp_path_factory.mktemp("hf")
    made = {}

    def get(model: str, arch: str, weights: str = "f32", linear_class: str = "autobitlinear", shards: int = 1) -> Path:
        key = (model, arch, weights, linear_class, shards)
        if key not in made:
            name = "-".join(str(k).replace("/", "_") for k in key)
            made[key] = write_hf_folder(root / name, asset(model), asset("models/tok512.model"), arch, weights,
                                        linear_class, shards)
        return made[key]

    return get


BIT3M = "models/bitllama2c-3M.bin"
STORIES = "models/stories260K.bin"


def generate(path, steps: int = 256) -> str:
    with bitnet.BitNetModel.from_file(path, bitnet.ModelConfig(n_threads=2)) as m:
        return m.generate("", greedy(steps)) + "\n"


def test_llama_folder_of_stories260k_reproduces_the_reference(hf_dir, golden):
    d = hf_dir(STORIES, "LlamaForCausalLM")
    with bitnet.BitNetModel.from_file(d, bitnet.ModelConfig(n_threads=2)) as m:
        assert m.model_info.architecture == "llama"
        assert m.generate("", greedy()) + "\n" == golden("stories260K.runc.greedy.txt")
    # one .safetensors file beside its config.json
    assert generate(d / "model.safetensors") == golden("stories260K.runc.greedy.txt")


@pytest.mark.parametrize("arch,weights,linear_class,shards", [
    ("BitNetForCausalLM", "f32", "", 1),
    ("BitNetForCausalLM", "packed", "autobitlinear", 1),
    ("BitNetForCausalLM", "packed", "bitlinear", 1),
    ("BitNetForCausalLM", "packed", "autobitlinear", 3),
    ("BitnetForCausalLM", "f32", "", 2),
])
def test_bitnet_folders_of_bitllama2c_reproduce_the_ternary_reference(hf_dir, golden, arch, weights, linear_class, shards):
    d = hf_dir(BIT3M, arch, weights, linear_class or "autobitlinear", shards)
    with bitnet.BitNetModel.from_file(d, bitnet.ModelConfig(n_threads=2)) as m:
        info = m.model_info
        assert info.architecture == "bitnet" and info.ternary
        assert m.generate("", greedy()) + "\n" == golden("bitllama2c-3M.runbit.greedy.txt")


def test_bf16_master_checkpoint_follows_the_reference_for_a_while(hf_dir, golden):
    text = generate(hf_dir(BIT3M, "BitNetForCausalLM", "bf16"))
    want = golden("bitllama2c-3M.runbit.greedy.txt")
    common = next((i for i, (a, b) in enumerate(zip(text, want)) if a != b), min(len(text), len(want)))
    # bfloat16 rounds each matrix's scale; the Go test counts 108 equal tokens.
    assert 200 <= common < len(want), common


@pytest.mark.parametrize("typ", ["i2_s", "tq2_0", "tq1_0", "f16"])
def test_converted_to_gguf_reproduces_the_ternary_reference(hf_dir, golden, tmp_path, typ):
    out = tmp_path / f"m-{typ}.gguf"
    extra = ["--embed-type", "f32"] if typ == "f16" else []
    run_cli("convert", hf_dir(BIT3M, "BitNetForCausalLM", "packed"), out, "--type", typ, "--quiet", *extra)
    with bitnet.BitNetModel.from_file(out, bitnet.ModelConfig(n_threads=2)) as m:
        assert m.model_info.architecture == "bitnet"
        md = m.metadata
        assert md["general.architecture"] == "bitnet" and md["tokenizer.ggml.model"] == "llama"
        assert m.generate("", greedy()) + "\n" == golden("bitllama2c-3M.runbit.greedy.txt")


def test_llama_folder_converted_to_gguf_reproduces_the_reference(hf_dir, golden, tmp_path):
    out = tmp_path / "stories.gguf"
    run_cli("convert", hf_dir(STORIES, "LlamaForCausalLM"), out, "--type", "f32", "--quiet")
    assert generate(out) == golden("stories260K.runc.greedy.txt")


def test_gguf_written_from_hf_reads_with_ggufpy(hf_dir, tmp_path):
    gguf = pytest.importorskip("gguf")
    out = tmp_path / "m.gguf"
    run_cli("convert", hf_dir(BIT3M, "BitNetForCausalLM", "packed"), out, "--type", "tq2_0", "--quiet")
    r = gguf.GGUFReader(str(out))
    names = {t.name: t for t in r.tensors}
    assert names["blk.0.attn_q.weight"].tensor_type == gguf.GGMLQuantizationType.TQ2_0
    for n in ("token_embd.weight", "output_norm.weight", "blk.7.attn_sub_norm.weight", "blk.7.ffn_sub_norm.weight",
              "blk.7.ffn_down.weight", "blk.7.ffn_down.scale"):
        assert n in names, n
    assert bytes(r.fields["general.architecture"].parts[-1]).decode() == "bitnet"


def _safetensors(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def test_malformed_safetensors_give_typed_errors(tmp_path, hf_dir):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "config.json").write_text((hf_dir(STORIES, "LlamaForCausalLM") / "config.json").read_text())
    cases = {
        "overlap": _safetensors({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                                 "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, bytes(8)),
        "out of file": _safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8)),
        "huge header": struct.pack("<Q", 1 << 40) + b"{}",
        "bad json": struct.pack("<Q", 5) + b"{\"a\":",
    }
    for name, raw in cases.items():
        (d / "model.safetensors").write_bytes(raw)
        with pytest.raises(bitnet.ModelError) as e:
            bitnet.BitNetModel.from_file(d)
        assert e.value.code == errors.ERR_FORMAT and "safetensors" in str(e.value), (name, e.value)


def test_folder_without_config_is_an_io_error_and_unknown_architectures_unsupported(tmp_path, hf_dir):
    src = hf_dir(STORIES, "LlamaForCausalLM")
    d = tmp_path / "noconfig"
    d.mkdir()
    (d / "model.safetensors").write_bytes((src / "model.safetensors").read_bytes())
    with pytest.raises(bitnet.BitNetIOError, match="config.json"):
        bitnet.BitNetModel.from_file(d)
    cfg = json.loads((src / "config.json").read_text())
    cfg["architectures"] = ["MambaForCausalLM"]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(bitnet.ModelError, match="MambaForCausalLM") as e:
        bitnet.BitNetModel.from_file(d)
    assert e.value.code == errors.ERR_UNSUPPORTED
