"""GGUF interoperability with llama.cpp's gguf-py, both ways: files written
by gguf's GGUFWriter read by `bitnet inspect`, and files written by the
engine's writer (`bitnet convert`) read by gguf's GGUFReader."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader, GGUFWriter
from gguf import GGUFValueType as VT
from gguf.quants import dequantize, quantize

from ggufmodels import Shape, Spec, write_gguf

TYPE_NAMES = {
    VT.UINT8: "u8", VT.INT8: "i8", VT.UINT16: "u16", VT.INT16: "i16", VT.UINT32: "u32", VT.INT32: "i32",
    VT.FLOAT32: "f32", VT.BOOL: "bool", VT.STRING: "string", VT.ARRAY: "array", VT.UINT64: "u64",
    VT.INT64: "i64", VT.FLOAT64: "f64",
}
NONFINITE = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}

# key -> (value type, value, array element type or None)
METADATA = {
    "test.u8": (VT.UINT8, 200, None),
    "test.i8": (VT.INT8, -100, None),
    "test.u16": (VT.UINT16, 60000, None),
    "test.i16": (VT.INT16, -30000, None),
    "test.u32": (VT.UINT32, 4_000_000_000, None),
    "test.i32": (VT.INT32, -2_000_000_000, None),
    "test.f32": (VT.FLOAT32, 0.1, None),
    "test.f32_nan": (VT.FLOAT32, math.nan, None),
    "test.f32_inf": (VT.FLOAT32, math.inf, None),
    "test.f32_neg_inf": (VT.FLOAT32, -math.inf, None),
    "test.f32_tiny": (VT.FLOAT32, 1e-45, None),
    "test.bool_true": (VT.BOOL, True, None),
    "test.bool_false": (VT.BOOL, False, None),
    "test.string": (VT.STRING, "héllo ▁wörld \u2603 \"quoted\" \\ \n tab\t", None),
    "test.string_empty": (VT.STRING, "", None),
    "test.u64": (VT.UINT64, 2**64 - 1, None),
    "test.i64": (VT.INT64, -(2**63), None),
    "test.f64": (VT.FLOAT64, 0.1, None),
    "test.f64_big": (VT.FLOAT64, 1e300, None),
    "test.f64_nan": (VT.FLOAT64, math.nan, None),
    "test.f64_neg_inf": (VT.FLOAT64, -math.inf, None),
    "test.arr_u8": (VT.ARRAY, [0, 1, 127, 255], VT.UINT8),
    "test.arr_i8": (VT.ARRAY, [-128, 0, 127], VT.INT8),
    "test.arr_u16": (VT.ARRAY, [0, 65535], VT.UINT16),
    "test.arr_i16": (VT.ARRAY, [-32768, 32767], VT.INT16),
    "test.arr_u32": (VT.ARRAY, [0, 2**32 - 1], VT.UINT32),
    "test.arr_i32": (VT.ARRAY, [-(2**31), 2**31 - 1, 7], VT.INT32),
    "test.arr_f32": (VT.ARRAY, [0.5, -1.25, 3.4e38, math.nan, -math.inf], VT.FLOAT32),
    "test.arr_bool": (VT.ARRAY, [True, False, True], VT.BOOL),
    "test.arr_string": (VT.ARRAY, ["a", "", "ünï", "<0x0A>", "▁x"], VT.STRING),
    "test.arr_u64": (VT.ARRAY, [0, 2**64 - 1], VT.UINT64),
    "test.arr_i64": (VT.ARRAY, [-(2**63), 2**63 - 1], VT.INT64),
    "test.arr_f64": (VT.ARRAY, [1e-300, -2.5, math.inf], VT.FLOAT64),
    "test.arr_nested_i32": (VT.ARRAY, [[1, 2], [3, 4, 5], [-6]], VT.ARRAY),
    "test.arr_nested_string": (VT.ARRAY, [["x"], ["y", "zz"]], VT.ARRAY),
}


def _tensors():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 256)).astype(np.float32)
    return [
        ("f32_2d", x, None),
        ("f32_3d", rng.standard_normal((2, 3, 32)).astype(np.float32), None),
        ("f16_1d", rng.standard_normal(96).astype(np.float16), None),
        ("bf16", quantize(x, QT.BF16), QT.BF16),
        ("q8_0", quantize(x, QT.Q8_0), QT.Q8_0),
        ("q4_0", quantize(x, QT.Q4_0), QT.Q4_0),
        ("q4_1", quantize(x, QT.Q4_1), QT.Q4_1),
        ("tq1_0", quantize(x, QT.TQ1_0), QT.TQ1_0),
        ("tq2_0", quantize(x, QT.TQ2_0), QT.TQ2_0),
        ("i32", np.arange(-5, 5, dtype=np.int32), None),
        ("f32_odd", rng.standard_normal(7).astype(np.float32), None),
    ]


def _write_all_types(path, alignment=None):
    w = GGUFWriter(str(path), "llama")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    for key, (vt, val, sub) in METADATA.items():
        w.add_key_value(key, val, vt, sub_type=sub if sub not in (None, VT.ARRAY) else None)
    for name, data, raw in _tensors():
        w.add_tensor(name, data, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _same_scalar(vt, got, want):
    if vt in (VT.FLOAT32, VT.FLOAT64):
        if isinstance(got, str):
            got = NONFINITE[got]
        cast = np.float32 if vt == VT.FLOAT32 else np.float64
        g, w = cast(got), cast(want)
        return (np.isnan(g) and np.isnan(w)) or g == w
    if vt == VT.BOOL:
        return got is want
    return type(got) is type(want) and got == want


def _same_nested(got, want):
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same_nested, got, want))
    return type(got) is type(want) and got == want


def _same_value(vt, got, want, sub):
    if vt != VT.ARRAY:
        return _same_scalar(vt, got, want)
    if not isinstance(got, list) or len(got) != len(want):
        return False
    if sub == VT.ARRAY:  # nested arrays (of ints or strings): exact values
        return all(_same_nested(g, w) for g, w in zip(got, want))
    return all(_same_scalar(sub, g, w) for g, w in zip(got, want))


def _tensor_table(reader):
    """name -> (type name, ggml shape, offset in the data section, bytes)."""
    return {
        t.name: (t.tensor_type.name, [int(d) for d in t.shape], t.data_offset - reader.data_offset, int(t.n_bytes))
        for t in reader.tensors
    }


def _inspect_table(info):
    return {t["name"]: (t["type"], t["shape"], t["offset"], t["bytes"]) for t in info["tensors"]}


@pytest.mark.parametrize("alignment", [None, 64])
@pytest.mark.parametrize("key", list(METADATA))
def test_inspect_reports_metadata_written_by_gguf_py(key, alignment, all_types_file, bitnet):
    info = all_types_file(alignment)[1]
    got = {m["key"]: m for m in info["metadata"]}
    vt, want, sub = METADATA[key]
    m = got[key]
    assert m["type"] == TYPE_NAMES[vt]
    if vt == VT.ARRAY:
        assert m["element_type"] == TYPE_NAMES[sub]
        assert m["length"] == len(want)
    assert _same_value(vt, m["value"], want, sub), f"{key}: inspect says {m['value']!r}, gguf-py wrote {want!r}"


@pytest.fixture(scope="module")
def all_types_file(tmp_path_factory, bitnet):
    cache = {}

    def get(alignment):
        if alignment not in cache:
            p = tmp_path_factory.mktemp("alltypes") / "all.gguf"
            _write_all_types(p, alignment)
            cache[alignment] = (p, bitnet.inspect(p))
        return cache[alignment]

    return get


@pytest.mark.parametrize("alignment", [None, 64])
def test_inspect_reports_header_and_tensor_table_of_gguf_py_file(alignment, all_types_file):
    path, info = all_types_file(alignment)
    r = GGUFReader(str(path))
    assert info["version"] == 3
    assert info["alignment"] == (alignment or 32)
    assert info["file_size"] == path.stat().st_size
    keys = [m["key"] for m in info["metadata"]]
    assert keys == [k for k in r.fields if not k.startswith("GGUF.")]
    assert _inspect_table(info) == _tensor_table(r)
    assert [t["name"] for t in info["tensors"]] == [name for name, _, _ in _tensors()]
    shapes = {t["name"]: t["shape"] for t in info["tensors"]}
    assert shapes["f32_3d"] == [32, 3, 2] and shapes["q8_0"] == [256, 4] and shapes["f16_1d"] == [96]


# --- files written by the engine, read by gguf-py ---

LLAMA = Spec(Shape("llama", n_layers=1), "float", QT.F32, QT.F32, output=True, seed=21)
BITNET = Spec(Shape("bitnet", n_layers=1), "ternary", QT.F32, QT.F32, output=True, scales=True, seed=22)
OURS = {
    "llama-f32": ("llama", "f32"),
    "llama-f16": ("llama", "f16"),
    "llama-bf16": ("llama", "bf16"),
    "llama-q8_0": ("llama", "q8_0"),
    "llama-q4_0": ("llama", "q4_0"),
    "llama-q4_1": ("llama", "q4_1"),
    "llama-q6_k": ("llama", "q6_k"),
    "bitnet-tq2_0": ("bitnet", "tq2_0"),
    "bitnet-tq1_0": ("bitnet", "tq1_0"),
    "random-tiny-tq2_0": ("random", "tq2_0"),
    "llama-align64-q8_0": ("llama-align64", "q8_0"),  # general.alignment 64 kept
}


@pytest.fixture(scope="module")
def our_file(tmp_path_factory, bitnet):
    """our_file(name) -> (path written by bitnet convert, its f32 conversion)."""
    d = tmp_path_factory.mktemp("ours")
    srcs = {}
    cache = {}

    def get(name):
        if name in cache:
            return cache[name]
        src, typ = OURS[name]
        out = d / f"{name}.gguf"
        if src == "random":
            bitnet.run("convert", "--random", "tiny", out, "--type", typ, "--quiet")
        else:
            if src not in srcs:
                srcs[src] = d / f"src-{src}.gguf"
                write_gguf(srcs[src], BITNET if src == "bitnet" else LLAMA, alignment=64 if src.endswith("align64") else None)
            bitnet.convert(srcs[src], out, typ)
        cache[name] = (out, bitnet.convert(out, d / f"{name}-f32.gguf", "f32"))
        return cache[name]

    return get


def _reader_value(field):
    main = field.types[0]
    if main == VT.ARRAY and field.types[-1] == VT.ARRAY:
        pytest.fail(f"{field.name}: nested arrays are not compared")
    return field.contents()


@pytest.mark.parametrize("name", OURS)
def test_gguf_py_reads_metadata_of_our_files_as_inspect_reports(name, our_file, bitnet):
    path, _ = our_file(name)
    r = GGUFReader(str(path))
    info = bitnet.inspect(path)
    fields = [f for k, f in r.fields.items() if not k.startswith("GGUF.")]
    assert [f.name for f in fields] == [m["key"] for m in info["metadata"]]
    for f, m in zip(fields, info["metadata"]):
        vt = f.types[0]
        assert m["type"] == TYPE_NAMES[vt], f.name
        sub = f.types[-1] if vt == VT.ARRAY else None
        if sub is not None:
            assert m["element_type"] == TYPE_NAMES[sub], f.name
        assert _same_value(vt, m["value"], _reader_value(f), sub), f"{f.name}: {m['value']!r}"
    assert info["version"] == r.fields["GGUF.version"].contents() == 3
    assert info["alignment"] == r.alignment == (64 if "align64" in name else 32)


@pytest.mark.parametrize("name", OURS)
def test_gguf_py_reads_tensor_table_of_our_files_as_inspect_reports(name, our_file, bitnet):
    path, _ = our_file(name)
    r = GGUFReader(str(path))
    info = bitnet.inspect(path)
    assert _inspect_table(info) == _tensor_table(r)
    typ = OURS[name][1].upper()
    linear = [t for t in r.tensors if t.name.startswith("blk.") and t.name.endswith("attn_q.weight")]
    assert linear and all(t.tensor_type.name == typ for t in linear)
    # The data section ends the file (no trailing garbage, nothing missing).
    end = max(t.data_offset + int(t.n_bytes) for t in r.tensors)
    assert path.stat().st_size - end < r.alignment


@pytest.mark.parametrize("name", OURS)
def test_gguf_py_decodes_our_tensors_to_our_f32_conversion(name, our_file):
    path, f32 = our_file(name)
    ours = {t.name: t for t in GGUFReader(str(f32)).tensors}
    r = GGUFReader(str(path))
    assert set(ours) == {t.name for t in r.tensors}
    for t in r.tensors:
        want = ours[t.name]
        assert want.tensor_type == QT.F32, t.name
        got = dequantize(t.data, t.tensor_type).reshape(-1)
        np.testing.assert_array_equal(got, np.asarray(want.data).reshape(-1), err_msg=t.name)
