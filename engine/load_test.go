package engine_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

// tinyFile returns a parsed random tiny model.
func tinyFile(t *testing.T) *gguf.File {
	t.Helper()
	w, err := convert.Random("tiny", 1, convert.Options{Type: quant.I2_S})
	if err != nil {
		t.Fatal(err)
	}
	return writeParse(t, w)
}

func writeParse(t *testing.T, w *gguf.Writer) *gguf.File {
	t.Helper()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// edit copies f into a writer, letting change alter the metadata and the
// tensors (returning false drops a tensor).
func edit(t *testing.T, f *gguf.File, meta func(*gguf.Metadata), tensor func(ti *gguf.TensorInfo, data []byte) ([]uint64, quant.Type, []byte, bool)) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	for _, kv := range f.Metadata.Entries() {
		w.Metadata.Set(kv.Key, kv.Value)
	}
	if meta != nil {
		meta(w.Metadata)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		dims, typ, data, keep := ti.Dims, ti.Type, f.Data(ti), true
		if tensor != nil {
			dims, typ, data, keep = tensor(ti, data)
		}
		if keep {
			if err := w.AddTensor(ti.Name, typ, dims, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	return writeParse(t, w)
}

func expectLoadError(t *testing.T, f *gguf.File, kind error, substr string) {
	t.Helper()
	m, err := engine.FromGGUF(f, engine.Options{Threads: 1})
	if err == nil {
		m.Close()
		t.Fatalf("model loaded, want an error containing %q", substr)
	}
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q, want kind %v containing %q", err, kind, substr)
	}
}

func TestLoadRejectsUnknownArchitecture(t *testing.T) {
	f := edit(t, tinyFile(t), func(md *gguf.Metadata) {
		md.Set("general.architecture", gguf.MustValue("mamba"))
	}, nil)
	expectLoadError(t, f, errs.ErrUnsupported, `architecture "mamba"`)
}

func TestLoadRejectsMissingAndBadHyperparameters(t *testing.T) {
	cases := []struct {
		key    string
		value  any // nil deletes
		substr string
	}{
		{"bitnet-b1.58.embedding_length", nil, "embedding_length missing"},
		{"bitnet-b1.58.block_count", uint32(0), "block_count = 0"},
		{"bitnet-b1.58.attention.key_length", uint32(48), "head size 48"},
		{"bitnet-b1.58.attention.head_count_kv", uint32(3), "not a multiple"},
		{"bitnet-b1.58.embedding_length", "wide", "not an unsigned integer"},
		{"bitnet-b1.58.rope.dimension_count", uint32(65), "rope dimension"},
		{"bitnet-b1.58.attention.layer_norm_rms_epsilon", float32(-1), "epsilon"},
		{"bitnet-b1.58.rope.freq_base", float32(0), "rope frequency base"},
		{"bitnet-b1.58.block_count", uint32(3), "blk.2.attn_norm.weight missing"},
	}
	for _, c := range cases {
		f := edit(t, tinyFile(t), func(md *gguf.Metadata) {
			if c.value == nil {
				md.Delete(c.key)
			} else {
				md.Set(c.key, gguf.MustValue(c.value))
			}
		}, nil)
		kind := errs.ErrModel
		if c.key == "bitnet-b1.58.attention.key_length" {
			kind = errs.ErrUnsupported
		}
		t.Run(c.key+"="+strings.TrimSpace(gguf.MustValue(orZero(c.value)).String()), func(t *testing.T) {
			expectLoadError(t, f, kind, c.substr)
		})
	}
}

func orZero(v any) any {
	if v == nil {
		return "deleted"
	}
	return v
}

func TestLoadRejectsMissingTensor(t *testing.T) {
	f := edit(t, tinyFile(t), nil, func(ti *gguf.TensorInfo, data []byte) ([]uint64, quant.Type, []byte, bool) {
		return ti.Dims, ti.Type, data, ti.Name != "blk.1.ffn_down.weight"
	})
	expectLoadError(t, f, errs.ErrModel, "blk.1.ffn_down.weight missing")
}

func TestLoadRejectsWronglyShapedTensor(t *testing.T) {
	f := edit(t, tinyFile(t), nil, func(ti *gguf.TensorInfo, data []byte) ([]uint64, quant.Type, []byte, bool) {
		if ti.Name == "blk.0.attn_k.weight" {
			// Same bytes, rows and columns swapped.
			return []uint64{ti.Dims[1], ti.Dims[0]}, ti.Type, data, true
		}
		return ti.Dims, ti.Type, data, true
	})
	expectLoadError(t, f, errs.ErrModel, "blk.0.attn_k.weight has shape")
}

func TestLoadRejectsNonScalarScaleTensor(t *testing.T) {
	w, _ := convert.Random("tiny", 1, convert.Options{Type: quant.TQ2_0})
	f := edit(t, writeParse(t, w), nil, func(ti *gguf.TensorInfo, data []byte) ([]uint64, quant.Type, []byte, bool) {
		if ti.Name == "blk.0.attn_q.scale" {
			return []uint64{2}, quant.F32, make([]byte, 8), true
		}
		return ti.Dims, ti.Type, data, true
	})
	expectLoadError(t, f, errs.ErrModel, "blk.0.attn_q.scale has 2 elements")
}

func TestLoadRejectsTokenizerLargerThanVocabulary(t *testing.T) {
	f := edit(t, tinyFile(t), func(md *gguf.Metadata) {
		toks, _ := md.Strings("tokenizer.ggml.tokens")
		scores, _ := md.Float32s("tokenizer.ggml.scores")
		types, _ := md.Int32s("tokenizer.ggml.token_type")
		md.Set("tokenizer.ggml.tokens", gguf.MustValue(append(append([]string(nil), toks...), "extra")))
		md.Set("tokenizer.ggml.scores", gguf.MustValue(append(append([]float32(nil), scores...), 0)))
		md.Set("tokenizer.ggml.token_type", gguf.MustValue(append(append([]int32(nil), types...), 1)))
	}, nil)
	expectLoadError(t, f, errs.ErrModel, "tokenizer has 513 tokens")
}

func TestContextLengthBeyondTheLimitIsRefused(t *testing.T) {
	if _, err := engine.FromGGUF(tinyFile(t), engine.Options{Threads: 1, ContextLength: 1<<22 + 1}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Fatalf("context beyond the limit: %v", err)
	}
}

func TestLoadFileThatIsNotGGUF(t *testing.T) {
	_, err := engine.Load("golden_test.go", engine.Options{})
	if !errors.Is(err, errs.ErrFormat) || !strings.Contains(err.Error(), "not a GGUF file") {
		t.Fatalf("loading a Go file: %v", err)
	}
	if _, err := engine.Load("does-not-exist.gguf", engine.Options{}); errs.CodeOf(err) != errs.CodeIO {
		t.Fatalf("missing file: %v (code %d)", err, errs.CodeOf(err))
	}
}
