package convert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

func writeRandom(t *testing.T, shape string, seed uint64, opts Options) []byte {
	t.Helper()
	w, err := Random(shape, seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, b := writeParse(t, w)
	return b
}

func TestRandomSameSeedGivesByteIdenticalFiles(t *testing.T) {
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0} {
		a := writeRandom(t, "tiny", 5, Options{Type: typ})
		b := writeRandom(t, "tiny", 5, Options{Type: typ})
		if !bytes.Equal(a, b) {
			t.Errorf("%v: two files of seed 5 differ", typ)
		}
	}
}

func TestRandomDifferentSeedsGiveDifferentWeights(t *testing.T) {
	w1, err1 := Random("tiny", 1, Options{Type: quant.I2_S})
	w2, err2 := Random("tiny", 2, Options{Type: quant.I2_S})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	f1, _ := writeParse(t, w1)
	f2, _ := writeParse(t, w2)
	for i := range f1.Tensors {
		t1 := &f1.Tensors[i]
		t2 := tensor(t, f2, t1.Name)
		same := bytes.Equal(f1.Data(t1), f2.Data(t2))
		random := isLinear(t1.Name) || t1.Name == "token_embd.weight"
		if random == same {
			t.Errorf("%s: equal across seeds = %v", t1.Name, same)
		}
	}
}

func TestRandomTinyHoldsTheShapeWithTernaryWeights(t *testing.T) {
	h := Shapes["tiny"]
	w, err := Random("tiny", 3, Options{Type: quant.TQ2_0})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	p := h.Arch + "."
	for key, want := range map[string]string{
		"general.architecture":                 "string:" + h.Arch,
		"general.name":                         "string:random-tiny",
		"general.file_type":                    "u32:37",
		p + "embedding_length":                 fmt.Sprintf("u32:%d", h.Dim),
		p + "block_count":                      fmt.Sprintf("u32:%d", h.Layers),
		p + "feed_forward_length":              fmt.Sprintf("u32:%d", h.FFN),
		p + "attention.head_count":             fmt.Sprintf("u32:%d", h.Heads),
		p + "attention.head_count_kv":          fmt.Sprintf("u32:%d", h.KVHeads),
		p + "rope.dimension_count":             fmt.Sprintf("u32:%d", h.RopeDims),
		p + "context_length":                   fmt.Sprintf("u32:%d", h.Context),
		p + "vocab_size":                       fmt.Sprintf("u32:%d", h.Vocab),
		p + "attention.layer_norm_rms_epsilon": "f32:1e-05",
		"tokenizer.ggml.model":                 "string:llama",
		"tokenizer.ggml.bos_token_id":          "u32:1",
	} {
		if got := metaString(t, f, key); got != want {
			t.Errorf("metadata %s = %s, want %s", key, got, want)
		}
	}
	if want := 2 + h.Layers*(4+7*2); len(f.Tensors) != want {
		t.Errorf("%d tensors, want %d", len(f.Tensors), want)
	}
	if emb := tensor(t, f, "token_embd.weight"); emb.Type != quant.F16 || fmt.Sprint(emb.Dims) != fmt.Sprint([]uint64{uint64(h.Dim), uint64(h.Vocab)}) {
		t.Errorf("token_embd %v %v", emb.Type, emb.Dims)
	}
	if v := floats(t, f, "blk.1.ffn_sub_norm.weight"); len(v) != h.FFN || v[0] != 1 {
		t.Errorf("ffn_sub_norm: %d values, first %v; want %d ones", len(v), v[0], h.FFN)
	}
	counts := map[int8]int{}
	codes, gamma := ternaryOf(t, f, "blk.1.ffn_down")
	for _, c := range codes {
		counts[c]++
	}
	if gamma < 0.5 || gamma >= 1.5 {
		t.Errorf("scale %v outside [0.5, 1.5)", gamma)
	}
	// P(-1) = P(+1) = 1/4, P(0) = 1/2: 131072 draws are well within 2%.
	n := float64(len(codes))
	if d := float64(counts[0])/n - 0.5; d > 0.02 || d < -0.02 {
		t.Errorf("share of zeros %v, want about 1/2", float64(counts[0])/n)
	}
	if d := float64(counts[1]-counts[-1]) / n; d > 0.02 || d < -0.02 {
		t.Errorf("+1 and -1 shares differ by %v", d)
	}
	tokens, _ := f.Metadata.Strings("tokenizer.ggml.tokens")
	types, _ := f.Metadata.Int32s("tokenizer.ggml.token_type")
	if len(tokens) != h.Vocab || tokens[0] != "<unk>" || tokens[1] != "<s>" || tokens[3] != "<0x00>" || types[258] != 6 || types[259] != 1 {
		t.Errorf("synthetic vocabulary: %d tokens, %q %q %q, types %v", len(tokens), tokens[0], tokens[1], tokens[3], types[256:261])
	}
}

func TestRandomWritesEveryTernaryAndFloatType(t *testing.T) {
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ1_0, quant.TQ2_0, quant.F32, quant.F16, quant.BF16} {
		w, err := Random("tiny", 9, Options{Type: typ})
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		f, _ := writeParse(t, w)
		if tt := tensor(t, f, "blk.0.attn_q.weight").Type; tt != typ {
			t.Errorf("%v: attn_q type %v", typ, tt)
		}
		// ternaryOf checks the codes are ternary and finds the scale.
		_, gamma := ternaryOf(t, f, "blk.0.attn_q")
		if gamma < 0.5 || gamma >= 1.5 {
			t.Errorf("%v: scale %v outside [0.5, 1.5)", typ, gamma)
		}
	}
}

func TestRandomSameSeedGivesTheSameCodesInEveryType(t *testing.T) {
	ref, _ := writeParse(t, must(Random("tiny", 4, Options{Type: quant.I2_S})))
	want, wantGamma := ternaryOf(t, ref, "blk.1.attn_k")
	for _, typ := range []quant.Type{quant.TQ1_0, quant.F32} {
		f, _ := writeParse(t, must(Random("tiny", 4, Options{Type: typ})))
		got, gamma := ternaryOf(t, f, "blk.1.attn_k")
		if gamma != wantGamma || !bytes.Equal(i8bytes(got), i8bytes(want)) {
			t.Errorf("%v: codes or scale differ from the I2_S file of the same seed", typ)
		}
	}
}

func must[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

func TestRandomEmbedTypeAndNameOptions(t *testing.T) {
	et := quant.Q8_0
	f, _ := writeParse(t, must(Random("tiny", 1, Options{Type: quant.I2_S, EmbedType: &et, Name: "bench"})))
	if tt := tensor(t, f, "token_embd.weight").Type; tt != quant.Q8_0 {
		t.Errorf("token_embd %v, want Q8_0", tt)
	}
	if name, _ := f.Metadata.String("general.name"); name != "bench" {
		t.Errorf("general.name %q, want bench", name)
	}
}

func TestRandomProgressCountsEveryTensor(t *testing.T) {
	n := 0
	w, err := Random("tiny", 1, Options{Type: quant.TQ2_0, Progress: func(done, total int, name string) {
		n++
		if done != n {
			t.Errorf("progress done %d at call %d (%s)", done, n, name)
		}
		if total != 2+2*(4+14) {
			t.Errorf("progress total %d", total)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	if n != len(f.Tensors) {
		t.Errorf("%d progress calls for %d tensors", n, len(f.Tensors))
	}
}

func TestRandomAcceptsEveryShapeName(t *testing.T) {
	names := ShapeNames()
	if !sort.StringsAreSorted(names) || len(names) != len(Shapes) {
		t.Errorf("ShapeNames() = %v: not the sorted keys of Shapes", names)
	}
	for _, name := range names {
		h := Shapes[name]
		for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0} {
			w, err := Random(name, 1, Options{Type: typ})
			if err != nil {
				t.Errorf("%s %v: %v", name, typ, err)
				continue
			}
			// The data is produced only when writing; the metadata is
			// complete already.
			for key, want := range map[string]uint64{
				h.Arch + ".embedding_length":        uint64(h.Dim),
				h.Arch + ".block_count":             uint64(h.Layers),
				h.Arch + ".feed_forward_length":     uint64(h.FFN),
				h.Arch + ".attention.head_count_kv": uint64(h.KVHeads),
				h.Arch + ".vocab_size":              uint64(h.Vocab),
			} {
				if got, ok := w.Metadata.Uint(key); !ok || got != want {
					t.Errorf("%s: %s = %d, want %d", name, key, got, want)
				}
			}
			if toks, _ := w.Metadata.Strings("tokenizer.ggml.tokens"); len(toks) != h.Vocab {
				t.Errorf("%s: %d tokens, want %d", name, len(toks), h.Vocab)
			}
		}
		if h.Dim%h.Heads != 0 || h.RopeDims != h.Dim/h.Heads || h.Heads%h.KVHeads != 0 || h.Dim%256 != 0 || h.FFN%256 != 0 {
			t.Errorf("%s: shape %+v is not a valid BitNet shape for every ternary type", name, h)
		}
	}
}

func TestRandomLargeWritesAFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 230 MB to io.Discard")
	}
	n := 0
	w := must(Random("large", 1, Options{Type: quant.I2_S, Progress: func(done, total int, name string) { n = total }}))
	size, err := w.WriteTo(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := Shapes["large"]
	if want := 2 + h.Layers*(4+7); n != want {
		t.Errorf("%d tensors, want %d", n, want)
	}
	if size < int64(h.Vocab*h.Dim*2) {
		t.Errorf("%d bytes: less than the F16 embedding alone", size)
	}
}

func TestRandomUnknownShapeIsAnInvalidArgument(t *testing.T) {
	_, err := Random("huge", 1, Options{Type: quant.I2_S})
	if !errors.Is(err, errs.ErrInvalidArgument) {
		t.Fatalf("error %v, want ErrInvalidArgument", err)
	}
	testutil.WantErr(t, "unknown shape", err, errs.ErrInvalidArgument, "huge", "tiny")
}

func TestRandomRefusesTypesThatCannotHoldTheShape(t *testing.T) {
	_, err := Random("tiny", 1, Options{Type: quant.Q5_0})
	testutil.WantErr(t, "Q5_0", err, errs.ErrUnsupported, "Q5_0")
}

func TestRandomWriterWrittenTwiceGivesTheSameBytes(t *testing.T) {
	w := must(Random("tiny", 6, Options{Type: quant.TQ2_0}))
	_, a := writeParse(t, w)
	_, b := writeParse(t, w)
	if !bytes.Equal(a, b) {
		t.Error("the second write of one writer differs from the first")
	}
	if c := writeRandom(t, "tiny", 6, Options{Type: quant.TQ2_0}); !bytes.Equal(a, c) {
		t.Error("a new writer of the same seed differs")
	}
}
