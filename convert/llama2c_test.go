package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/llama2c"
	"github.com/bitnet-dev/bitnet/quant"
)

var matrixNames = []struct {
	kind, name string
	rope       bool
}{
	{"wq", "attn_q", true}, {"wk", "attn_k", true}, {"wv", "attn_v", false}, {"wo", "attn_output", false},
	{"w1", "ffn_gate", false}, {"w2", "ffn_down", false}, {"w3", "ffn_up", false},
}

func layerMatrix(L *llama2c.Layer, kind string) *llama2c.Matrix {
	return map[string]*llama2c.Matrix{"wq": &L.Wq, "wk": &L.Wk, "wv": &L.Wv, "wo": &L.Wo, "w1": &L.W1, "w2": &L.W2, "w3": &L.W3}[kind]
}

func TestFromLlama2cStories260KF32IsByteIdenticalToReferenceGGUF(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	ref := openGGUF(t, "gguf/stories260K-f32.gguf")
	w, err := FromLlama2c(m, tok512(t), "stories260K", Options{Type: quant.F32})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	if len(f.Tensors) != len(ref.Tensors) {
		t.Errorf("%d tensors, reference %d", len(f.Tensors), len(ref.Tensors))
	}
	for i := range ref.Tensors {
		rt := &ref.Tensors[i]
		ot, ok := f.Tensor(rt.Name)
		if !ok {
			t.Errorf("tensor %s missing", rt.Name)
			continue
		}
		if fmt.Sprint(ot.Dims) != fmt.Sprint(rt.Dims) || ot.Type != rt.Type || !bytes.Equal(f.Data(ot), ref.Data(rt)) {
			t.Errorf("%s: %v %v differs from the reference %v %v", rt.Name, ot.Type, ot.Dims, rt.Type, rt.Dims)
		}
	}
	// Every metadata entry of the reference (architecture, shape, epsilon,
	// tokenizer arrays and ids) has the same type and value.
	for _, kv := range ref.Metadata.Entries() {
		if got, want := metaString(t, f, kv.Key), fmt.Sprintf("%v:%v", kv.Value.Type, kv.Value.Data()); got != want {
			t.Errorf("metadata %s = %.80s, reference %.80s", kv.Key, got, want)
		}
	}
	for key, want := range map[string]string{
		"llama.rope.freq_base":         "f32:10000",
		"llama.vocab_size":             "u32:512",
		"general.quantization_version": "u32:2",
	} {
		if got := metaString(t, f, key); got != want {
			t.Errorf("metadata %s = %s, want %s", key, got, want)
		}
	}
}

func TestFromLlama2cStories260KF16RoundsEachWeightToHalf(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	ref := openGGUF(t, "gguf/stories260K-f32.gguf")
	w, err := FromLlama2c(m, nil, "s", Options{Type: quant.F16})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	if ft, _ := f.Metadata.Uint("general.file_type"); ft != 1 {
		t.Errorf("general.file_type = %d, want 1 (mostly F16)", ft)
	}
	for i := range ref.Tensors {
		name := ref.Tensors[i].Name
		ot := tensor(t, f, name)
		want := floats(t, ref, name)
		wantType := quant.F16
		if len(ot.Dims) == 1 {
			wantType = quant.F32 // norms stay float32
		} else {
			for j, v := range want {
				want[j] = quant.F16ToF32(quant.F32ToF16(v))
			}
		}
		if ot.Type != wantType {
			t.Errorf("%s: type %v, want %v", name, ot.Type, wantType)
		}
		if got := floats(t, f, name); maxAbsDiff(got, want) != 0 {
			t.Errorf("%s: values differ from the reference rounded to F16 by up to %g", name, maxAbsDiff(got, want))
		}
	}
}

func TestFromLlama2cWithoutVocabWritesNoTokenizer(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	w, err := FromLlama2c(m, nil, "s", Options{Type: quant.F32, Name: "renamed"})
	if err != nil {
		t.Fatal(err)
	}
	if w.Metadata.Has("tokenizer.ggml.tokens") || w.Metadata.Has("tokenizer.ggml.model") {
		t.Error("tokenizer keys written without a vocabulary")
	}
	if name, _ := w.Metadata.String("general.name"); name != "renamed" {
		t.Errorf("general.name = %q, want Options.Name %q", name, "renamed")
	}
}

func TestFromLlama2cEmbedTypeOverridesTheEmbeddingType(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	et := quant.F32
	w, err := FromLlama2c(m, nil, "s", Options{Type: quant.F16, EmbedType: &et})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	if tt := tensor(t, f, "token_embd.weight").Type; tt != quant.F32 {
		t.Errorf("token_embd type %v, want F32", tt)
	}
	if tt := tensor(t, f, "blk.0.attn_q.weight").Type; tt != quant.F16 {
		t.Errorf("attn_q type %v, want F16", tt)
	}
}

func TestFromLlama2cFloatModelRefusesTernaryTypes(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ1_0, quant.TQ2_0} {
		w, err := FromLlama2c(m, nil, "s", Options{Type: typ})
		testutil.WantErr(t, typ.String(), err, errs.ErrQuantization, typ.String())
		if w != nil {
			t.Errorf("%v: a writer was returned with the error", typ)
		}
	}
}

func TestFromLlama2cRefusesTypesWhoseBlockDoesNotDivideTheRows(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	// dim 64 fits 32-blocks, but ffn_down's rows hold hidden_dim = 172.
	for _, c := range []struct {
		typ    quant.Type
		tensor string
	}{
		{quant.Q8_0, "blk.0.ffn_down.weight"},
		{quant.Q4_0, "blk.0.ffn_down.weight"},
		{quant.Q6_K, "token_embd.weight"}, // 256-blocks: nothing fits
	} {
		_, err := FromLlama2c(m, nil, "s", Options{Type: c.typ})
		testutil.WantErr(t, c.typ.String(), err, errs.ErrQuantization, c.tensor, c.typ.String())
	}
}

func TestFromLlama2cRefusesTypesWithoutAnEncoder(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	_, err := FromLlama2c(m, nil, "s", Options{Type: quant.Q5_0})
	testutil.WantErr(t, "Q5_0", err, errs.ErrUnsupported, "Q5_0")
}

func TestFromLlama2cRefusesAVocabularyOfAnotherSize(t *testing.T) {
	m := openLlama2c(t, "models/stories260K.bin")
	v := tok512(t)
	v.Tokens = v.Tokens[:511]
	_, err := FromLlama2c(m, v, "s", Options{Type: quant.F32})
	testutil.WantErr(t, "511 tokens", err, errs.ErrModel, "511")
	v = tok512(t)
	v.Scores = v.Scores[:500]
	_, err = FromLlama2c(m, v, "s", Options{Type: quant.F32})
	testutil.WantErr(t, "500 scores", err, errs.ErrInvalidArgument, "500 scores")
}

// bitllamaTypes are the weight types a ternary llama2.c model converts to
// exactly (codes and scale recoverable bit for bit).
var bitllamaTypes = []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0, quant.F32, quant.F16, quant.BF16}

func TestFromLlama2cBitllamaKeepsCodesAndScalesExactly(t *testing.T) {
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	vocab := tok512(t)
	c := m.Config
	for _, typ := range bitllamaTypes {
		w, err := FromLlama2c(m, vocab, "bitllama2c", Options{Type: typ})
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		f, _ := writeParse(t, w)
		for l := range m.Layers {
			for _, mn := range matrixNames {
				mat := layerMatrix(&m.Layers[l], mn.kind)
				base := fmt.Sprintf("blk.%d.%s", l, mn.name)
				if wt := tensor(t, f, base+".weight"); wt.Type != typ || fmt.Sprint(wt.Dims) != fmt.Sprint([]uint64{uint64(mat.Cols), uint64(mat.Rows)}) {
					t.Fatalf("%v: %s is %v %v", typ, base, wt.Type, wt.Dims)
				}
				_, hasScale := f.Tensor(base + ".scale")
				if hasScale != (typ != quant.I2_S) {
					t.Errorf("%v: %s.scale present = %v", typ, base, hasScale)
				}
				got, gamma := ternaryOf(t, f, base)
				want, wantGamma := mat.Ternary()
				if gamma != wantGamma {
					t.Errorf("%v: %s: scale %v, source %v", typ, base, gamma, wantGamma)
				}
				for r := 0; r < mat.Rows; r++ {
					gr := r
					if mn.rope {
						gr = halfRow(r, c.HeadDim())
					}
					if !bytes.Equal(i8bytes(got[gr*mat.Cols:(gr+1)*mat.Cols]), i8bytes(want[r*mat.Cols:(r+1)*mat.Cols])) {
						t.Fatalf("%v: %s: source row %d differs from written row %d", typ, base, r, gr)
					}
				}
			}
		}
		embType := quant.F32
		if !IsTernaryType(typ) {
			embType = typ
		}
		if et := tensor(t, f, "token_embd.weight").Type; et != embType {
			t.Errorf("%v: token_embd type %v, want %v", typ, et, embType)
		}
		if _, ok := f.Tensor("output.weight"); ok {
			t.Errorf("%v: output.weight written for a tied classifier", typ)
		}
	}
}

func i8bytes(c []int8) []byte {
	b := make([]byte, len(c))
	for i, x := range c {
		b[i] = byte(x)
	}
	return b
}

func TestFromLlama2cBitllamaWritesBitnetMetadataAndConstantNorms(t *testing.T) {
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	w, err := FromLlama2c(m, tok512(t), "bitllama2c", Options{Type: quant.I2_S})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	for key, want := range map[string]string{
		"general.architecture":                      "string:bitnet",
		"general.file_type":                         "u32:40",
		"bitnet.embedding_length":                   "u32:256",
		"bitnet.feed_forward_length":                "u32:256",
		"bitnet.block_count":                        "u32:8",
		"bitnet.attention.head_count":               "u32:8",
		"bitnet.attention.head_count_kv":            "u32:4",
		"bitnet.rope.dimension_count":               "u32:32",
		"bitnet.context_length":                     "u32:512",
		"bitnet.attention.layer_norm_rms_epsilon":   "f32:0",
		"bitnet.output_norm.layer_norm_rms_epsilon": "f32:1e-05",
		"tokenizer.ggml.model":                      "string:llama",
		"tokenizer.ggml.bos_token_id":               "u32:1",
		"tokenizer.ggml.eos_token_id":               "u32:2",
	} {
		if got := metaString(t, f, key); got != want {
			t.Errorf("metadata %s = %s, want %s", key, got, want)
		}
	}
	for l := 0; l < 8; l++ {
		for _, n := range []string{"attn_norm", "ffn_norm", "attn_sub_norm", "ffn_sub_norm"} {
			v := floats(t, f, fmt.Sprintf("blk.%d.%s.weight", l, n))
			// bitllama2c's norms divide by n: dim, or hidden for the FFN sub-norm (both 256 here).
			for _, x := range v {
				if x != 1/float32(len(v)) || len(v) != 256 {
					t.Fatalf("blk.%d.%s: %d values, value %v; want 256 x 1/256", l, n, len(v), x)
				}
			}
		}
	}
	if !equalFloats(floats(t, f, "output_norm.weight"), m.FinalNorm) {
		t.Error("output_norm differs from the final norm")
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestFromLlama2cBitllamaTQ2_0MatchesBit3MTensorByTensor(t *testing.T) {
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	ref := openGGUF(t, "gguf/bit3M-bitnet-tq2_0.gguf")
	w, err := FromLlama2c(m, tok512(t), "bitllama2c", Options{Type: quant.TQ2_0})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	if len(f.Tensors) != len(ref.Tensors) {
		t.Errorf("%d tensors, reference %d", len(f.Tensors), len(ref.Tensors))
	}
	for i := range ref.Tensors {
		rt := &ref.Tensors[i]
		ot, ok := f.Tensor(rt.Name)
		if !ok {
			t.Errorf("tensor %s missing", rt.Name)
			continue
		}
		if fmt.Sprint(ot.Dims) != fmt.Sprint(rt.Dims) || ot.Type != rt.Type || !bytes.Equal(f.Data(ot), ref.Data(rt)) {
			t.Errorf("%s: %v %v differs from the reference %v %v", rt.Name, ot.Type, ot.Dims, rt.Type, rt.Dims)
		}
	}
	// The reference's tokenizer is ours.
	for _, key := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"} {
		want, _ := ref.Metadata.Get(key)
		if got := metaString(t, f, key); got != fmt.Sprintf("%v:%v", want.Type, want.Data()) {
			t.Errorf("%s differs from the reference", key)
		}
	}
}

func TestFromLlama2cBitllamaQ8_0IsCloseToTheCodes(t *testing.T) {
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	w, err := FromLlama2c(m, nil, "b", Options{Type: quant.Q8_0})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	want, _ := m.Layers[3].Wv.Ternary()
	got := floats(t, f, "blk.3.attn_v.weight")
	for i := range want {
		if math.Abs(float64(got[i])-float64(want[i])) > 1e-3 {
			t.Fatalf("attn_v element %d = %v, code %d", i, got[i], want[i])
		}
	}
}

func TestFromLlama2cBitllamaRefusesOtherTypes(t *testing.T) {
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q6_K, quant.Q4_1} {
		_, err := FromLlama2c(m, nil, "b", Options{Type: typ})
		testutil.WantErr(t, typ.String(), err, errs.ErrInvalidArgument, typ.String())
	}
}

func TestFromLlama2cProgressCountsEveryTensorOnce(t *testing.T) {
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	var calls []string
	lastDone, lastTotal := 0, -1
	opts := Options{Type: quant.TQ1_0, Progress: func(done, total int, name string) {
		if done != lastDone+1 || (lastTotal >= 0 && total != lastTotal) {
			t.Errorf("progress (%d, %d) after (%d, %d)", done, total, lastDone, lastTotal)
		}
		lastDone, lastTotal = done, total
		calls = append(calls, name)
	}}
	w, err := FromLlama2c(m, nil, "b", opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Errorf("progress called %d times before writing", len(calls))
	}
	f, _ := writeParse(t, w)
	if len(calls) != len(f.Tensors) || lastTotal != len(f.Tensors) {
		t.Fatalf("%d progress calls, total %d, for %d tensors", len(calls), lastTotal, len(f.Tensors))
	}
	for i := range calls {
		if calls[i] != f.Tensors[i].Name {
			t.Fatalf("progress call %d names %s, tensor %d is %s", i, calls[i], i, f.Tensors[i].Name)
		}
	}
	// A second write reports the same sequence again.
	calls, lastDone, lastTotal = nil, 0, -1
	writeParse(t, w)
	if len(calls) != len(f.Tensors) {
		t.Errorf("second write: %d progress calls for %d tensors", len(calls), len(f.Tensors))
	}
}

func TestFromLlama2cTwoWritesAreByteIdentical(t *testing.T) {
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	w, err := FromLlama2c(m, nil, "b", Options{Type: quant.I2_S})
	if err != nil {
		t.Fatal(err)
	}
	_, a := writeParse(t, w)
	_, b := writeParse(t, w)
	if !bytes.Equal(a, b) {
		t.Error("writing the same writer twice gave different bytes")
	}
}

func TestAdjacentToHalfMovesPairsToHalves(t *testing.T) {
	// Two heads of 4 rows, 2 columns; row r holds r in both columns.
	codes := make([]int8, 8*2)
	for r := 0; r < 8; r++ {
		codes[2*r], codes[2*r+1] = int8(r), int8(r)
	}
	got := adjacentToHalf(codes, 8, 2, 4)
	// Pairs (0,1), (2,3) of head 0 become rows (0,2), (1,3).
	want := []int8{0, 2, 1, 3, 4, 6, 5, 7}
	for r, w := range want {
		if got[2*r] != w || got[2*r+1] != w {
			t.Fatalf("rows = %v, want row order %v", got, want)
		}
	}
}

// legacyBytes lays out a small legacy llama2.c file with an unshared
// classifier (negative vocabulary size); weight i of the file is i/1024.
func legacyBytes(dim, hidden, layers, heads, kvHeads, vocab, seq int) []byte {
	var b []byte
	for _, x := range []int{dim, hidden, layers, heads, kvHeads, -vocab, seq} {
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(x)))
	}
	kv := dim / heads * kvHeads
	n := vocab*dim + layers*(2*dim+2*dim*dim+2*dim*kv+3*dim*hidden) + dim + seq*(dim/heads) + vocab*dim
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)/1024))
	}
	return b
}

func TestFromLlama2cUnsharedClassifierBecomesOutputWeight(t *testing.T) {
	m, err := llama2c.Parse(legacyBytes(32, 64, 1, 4, 2, 16, 4))
	if err != nil {
		t.Fatal(err)
	}
	if m.Classifier == nil {
		t.Fatal("no classifier parsed")
	}
	for _, typ := range []quant.Type{quant.F32, quant.Q8_0} {
		w, err := FromLlama2c(m, nil, "u", Options{Type: typ})
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		f, _ := writeParse(t, w)
		out := tensor(t, f, "output.weight")
		if out.Type != typ || fmt.Sprint(out.Dims) != "[32 16]" {
			t.Errorf("%v: output.weight %v %v", typ, out.Type, out.Dims)
		}
		want := m.Classifier.Float32()
		if d := maxAbsDiff(floats(t, f, "output.weight"), want); d > maxAbs(want)/127 {
			t.Errorf("%v: output.weight differs from the classifier by %g", typ, d)
		}
		if typ == quant.F32 && !equalFloats(floats(t, f, "output.weight"), want) {
			t.Error("F32 output.weight is not the classifier bit for bit")
		}
	}
}
