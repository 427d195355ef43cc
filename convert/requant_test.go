package convert

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

// requant converts f to typ and parses the result.
func requant(t *testing.T, f *gguf.File, opts Options) *gguf.File {
	t.Helper()
	w, err := FromGGUF(f, opts)
	if err != nil {
		t.Fatalf("FromGGUF to %v: %v", opts.Type, err)
	}
	out, _ := writeParse(t, w)
	return out
}

// bitllamaI2S converts bitllama2c-3M to I2_S and parses it.
func bitllamaI2S(t *testing.T) *gguf.File {
	t.Helper()
	m := openLlama2c(t, "models/bitllama2c-3M.bin")
	w, err := FromLlama2c(m, tok512(t), "bitllama2c", Options{Type: quant.I2_S})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := writeParse(t, w)
	return f
}

func TestFromGGUFI2SToTQ2_0AndBackIsByteIdentical(t *testing.T) {
	src := bitllamaI2S(t)
	for _, via := range []quant.Type{quant.TQ2_0, quant.TQ1_0, quant.F32} {
		mid := requant(t, src, Options{Type: via})
		back := requant(t, mid, Options{Type: quant.I2_S})
		if len(back.Tensors) != len(src.Tensors) {
			t.Errorf("via %v: %d tensors, source %d", via, len(back.Tensors), len(src.Tensors))
		}
		for i := range src.Tensors {
			st := &src.Tensors[i]
			bt, ok := back.Tensor(st.Name)
			if !ok || bt.Type != st.Type || !bytes.Equal(back.Data(bt), src.Data(st)) {
				t.Errorf("via %v: %s differs after the round trip", via, st.Name)
			}
		}
		if ft, _ := back.Metadata.Uint("general.file_type"); ft != 40 {
			t.Errorf("via %v: general.file_type = %d, want 40", via, ft)
		}
	}
}

func TestFromGGUFBit3MToI2SFoldsScaleTensorsIntoTheTail(t *testing.T) {
	ref := openGGUF(t, "gguf/bit3M-bitnet-tq2_0.gguf")
	out := requant(t, ref, Options{Type: quant.I2_S})
	for i := range out.Tensors {
		if strings.HasSuffix(out.Tensors[i].Name, ".scale") {
			t.Errorf("%s left in an I2_S file", out.Tensors[i].Name)
		}
	}
	n := 0
	for i := range ref.Tensors {
		name := ref.Tensors[i].Name
		if !isLinear(name) {
			continue
		}
		n++
		base := strings.TrimSuffix(name, ".weight")
		if tensor(t, out, name).Type != quant.I2_S {
			t.Fatalf("%s is not I2_S", name)
		}
		got, gamma := ternaryOf(t, out, base)
		want, wantGamma := ternaryOf(t, ref, base)
		if gamma != wantGamma || !bytes.Equal(i8bytes(got), i8bytes(want)) {
			t.Errorf("%s: scale %v, source %v; codes equal %v", base, gamma, wantGamma, bytes.Equal(i8bytes(got), i8bytes(want)))
		}
	}
	if n != 56 {
		t.Errorf("%d linear tensors, want 56", n)
	}
	// The same bytes as a direct conversion from the llama2.c file.
	direct := bitllamaI2S(t)
	for i := range direct.Tensors {
		dt := &direct.Tensors[i]
		if ot := tensor(t, out, dt.Name); !bytes.Equal(out.Data(ot), direct.Data(dt)) {
			t.Errorf("%s differs from the direct llama2.c conversion", dt.Name)
		}
	}
	// Metadata is copied (the reference's epsilon included), file type updated.
	if got, want := metaString(t, out, "bitnet.attention.layer_norm_rms_epsilon"), metaString(t, ref, "bitnet.attention.layer_norm_rms_epsilon"); got != want {
		t.Errorf("epsilon %s, source %s", got, want)
	}
	if ft, _ := out.Metadata.Uint("general.file_type"); ft != 40 {
		t.Errorf("general.file_type = %d, want 40", ft)
	}
}

func TestFromGGUFBit3MToTQ1_0RewritesScaleTensors(t *testing.T) {
	ref := openGGUF(t, "gguf/bit3M-bitnet-tq2_0.gguf")
	out := requant(t, ref, Options{Type: quant.TQ1_0, Name: "tq1"})
	if len(out.Tensors) != len(ref.Tensors) {
		t.Errorf("%d tensors, source %d", len(out.Tensors), len(ref.Tensors))
	}
	for _, base := range []string{"blk.0.attn_q", "blk.3.ffn_down", "blk.7.attn_k"} {
		if tensor(t, out, base+".weight").Type != quant.TQ1_0 {
			t.Errorf("%s is not TQ1_0", base)
		}
		got, gamma := ternaryOf(t, out, base)
		want, wantGamma := ternaryOf(t, ref, base)
		if gamma != wantGamma || !bytes.Equal(i8bytes(got), i8bytes(want)) {
			t.Errorf("%s: scale %v, source %v, or codes differ", base, gamma, wantGamma)
		}
	}
	if name, _ := out.Metadata.String("general.name"); name != "tq1" {
		t.Errorf("general.name = %q, want tq1", name)
	}
	if ft, _ := out.Metadata.Uint("general.file_type"); ft != 36 {
		t.Errorf("general.file_type = %d, want 36", ft)
	}
}

func TestFromGGUFBit3MToF16KeepsScaleTensorsAndConvertsTheEmbedding(t *testing.T) {
	ref := openGGUF(t, "gguf/bit3M-bitnet-tq2_0.gguf")
	out := requant(t, ref, Options{Type: quant.F16})
	if tensor(t, out, "token_embd.weight").Type != quant.F16 {
		t.Error("token_embd not converted to F16 for a float target")
	}
	if tensor(t, out, "output_norm.weight").Type != quant.F32 {
		t.Error("output_norm not kept F32")
	}
	got, gamma := ternaryOf(t, out, "blk.2.ffn_up")
	want, wantGamma := ternaryOf(t, ref, "blk.2.ffn_up")
	if gamma != wantGamma || !bytes.Equal(i8bytes(got), i8bytes(want)) {
		t.Errorf("ffn_up: scale %v, source %v, or codes differ", gamma, wantGamma)
	}
}

func TestFromGGUFStoriesF32ToF16AndQ8_0(t *testing.T) {
	ref := openGGUF(t, "gguf/stories260K-f32.gguf")
	out := requant(t, ref, Options{Type: quant.F16})
	for i := range ref.Tensors {
		name := ref.Tensors[i].Name
		want := floats(t, ref, name)
		if len(ref.Tensors[i].Dims) == 2 {
			for j := range want {
				want[j] = quant.F16ToF32(quant.F32ToF16(want[j]))
			}
		}
		if d := maxAbsDiff(floats(t, out, name), want); d != 0 {
			t.Errorf("%s: differs from F16 rounding by %g", name, d)
		}
	}
	// ffn_down rows hold 172 weights: not a whole number of Q8_0 blocks.
	_, err := FromGGUF(ref, Options{Type: quant.Q8_0})
	testutil.WantErr(t, "stories to Q8_0", err, errs.ErrQuantization, "blk.0.ffn_down.weight", "172")
}

func TestFromGGUFF32ToQ8_0IsWithinHalfAStep(t *testing.T) {
	src := syntheticGGUF(t, "llama", quant.F32, 1, false)
	out := requant(t, src, Options{Type: quant.Q8_0})
	for _, name := range []string{"blk.0.attn_q.weight", "blk.0.ffn_down.weight", "token_embd.weight"} {
		if tt := tensor(t, out, name).Type; tt != quant.Q8_0 {
			t.Errorf("%s: type %v, want Q8_0", name, tt)
		}
		want, got := floats(t, src, name), floats(t, out, name)
		// Per 32-block step d = max|x|/127: half a step of rounding, plus
		// up to 127 x the f16 rounding of d (relative 2^-11).
		for b := 0; b < len(want); b += 32 {
			step := maxAbs(want[b:b+32]) / 127
			if d := maxAbsDiff(got[b:b+32], want[b:b+32]); d > step*(0.5+127.0/2048) {
				t.Fatalf("%s block %d: error %g above half a step %g", name, b/32, d, step/2)
			}
		}
	}
	if tt := tensor(t, out, "blk.0.attn_norm.weight").Type; tt != quant.F32 {
		t.Errorf("norm type %v, want F32", tt)
	}
}

// syntheticGGUF builds a one-layer model of architecture arch whose linear
// layers hold random float values (ternary-valued with scale 0.5 when
// ternary), stored as typ, dimension 256 and FFN 512.
func syntheticGGUF(t *testing.T, arch string, typ quant.Type, seed uint64, ternary bool) *gguf.File {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	w := gguf.NewWriter()
	if err := w.Set("general.architecture", arch); err != nil {
		t.Fatal(err)
	}
	if err := w.SetAlignment(64); err != nil {
		t.Fatal(err)
	}
	add := func(name string, tt quant.Type, rows, cols int, ternaryVals bool) {
		v := make([]float32, rows*cols)
		for i := range v {
			if ternaryVals {
				v[i] = 0.5 * float32(r.IntN(3)-1)
			} else {
				v[i] = float32(r.NormFloat64())
			}
		}
		dims := []uint64{uint64(cols), uint64(rows)}
		if rows == 1 {
			dims = dims[:1]
		}
		size, err := quant.TensorBytes(tt, dims)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		if err := quant.Quantize(tt, v, b); err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(name, tt, dims, b); err != nil {
			t.Fatal(err)
		}
	}
	add("token_embd.weight", quant.F32, 64, 256, false)
	add("output_norm.weight", quant.F32, 1, 256, false)
	add("blk.0.attn_norm.weight", quant.F32, 1, 256, false)
	for _, m := range []struct {
		name       string
		rows, cols int
	}{{"attn_q", 256, 256}, {"attn_k", 256, 256}, {"attn_v", 256, 256}, {"attn_output", 256, 256}, {"ffn_gate", 512, 256}, {"ffn_up", 512, 256}, {"ffn_down", 256, 512}} {
		add("blk.0."+m.name+".weight", typ, m.rows, m.cols, ternary)
	}
	f, _ := writeParse(t, w)
	return f
}

func TestFromGGUFTernaryTargetForFloatLlamaFailsWhenWriting(t *testing.T) {
	src := syntheticGGUF(t, "llama", quant.F32, 2, false)
	w, err := FromGGUF(src, Options{Type: quant.TQ2_0})
	if err != nil {
		testutil.WantErr(t, "llama to TQ2_0", err, errs.ErrQuantization, "attn_q")
		return
	}
	var buf bytes.Buffer
	_, err = w.WriteTo(&buf)
	testutil.WantErr(t, "llama to TQ2_0", err, errs.ErrQuantization, "blk.0.attn_q.weight", "not ternary")
}

func TestFromGGUFTernaryValuedLlamaConvertsExactly(t *testing.T) {
	src := syntheticGGUF(t, "llama", quant.F32, 3, true)
	out := requant(t, src, Options{Type: quant.TQ2_0})
	want := floats(t, src, "blk.0.ffn_down.weight")
	codes, gamma := ternaryOf(t, out, "blk.0.ffn_down")
	if gamma != 0.5 {
		t.Errorf("scale %v, want 0.5", gamma)
	}
	for i := range want {
		if float32(codes[i])*gamma != want[i] {
			t.Fatalf("weight %d: %d x %v, source %v", i, codes[i], gamma, want[i])
		}
	}
}

func TestFromGGUFBitnetFloatWeightsAreTernarizedWithAbsmean(t *testing.T) {
	src := syntheticGGUF(t, "bitnet-b1.58", quant.F32, 4, false)
	out := requant(t, src, Options{Type: quant.I2_S})
	vals := floats(t, src, "blk.0.attn_v.weight")
	want := make([]int8, len(vals))
	wantGamma := quant.AbsmeanTernarize(vals, want)
	got, gamma := ternaryOf(t, out, "blk.0.attn_v")
	if gamma != wantGamma || !bytes.Equal(i8bytes(got), i8bytes(want)) {
		t.Errorf("scale %v, absmean %v, or codes differ", gamma, wantGamma)
	}
	if out.Alignment != 64 {
		t.Errorf("alignment %d, source 64", out.Alignment)
	}
}

func TestFromGGUFRefusesUndecodableLinearTypes(t *testing.T) {
	w := gguf.NewWriter()
	if err := w.Set("general.architecture", "bitnet"); err != nil {
		t.Fatal(err)
	}
	// Q5_0 is known by size only (no decoder here).
	if err := w.AddTensor("blk.0.attn_q.weight", quant.Q5_0, []uint64{32, 2}, make([]byte, 2*22)); err != nil {
		t.Fatal(err)
	}
	src, _ := writeParse(t, w)
	_, err := FromGGUF(src, Options{Type: quant.I2_S})
	testutil.WantErr(t, "Q5_0 source", err, errs.ErrUnsupported, "blk.0.attn_q.weight")
}

func TestFromGGUFRefusesUndecodableEmbeddingForAnotherType(t *testing.T) {
	w := gguf.NewWriter()
	if err := w.Set("general.architecture", "llama"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("token_embd.weight", quant.Q5_0, []uint64{32, 2}, make([]byte, 2*22)); err != nil {
		t.Fatal(err)
	}
	src, _ := writeParse(t, w)
	_, err := FromGGUF(src, Options{Type: quant.F16})
	testutil.WantErr(t, "Q5_0 embedding", err, errs.ErrUnsupported, "token_embd.weight")
	// Copying it unchanged (a ternary target keeps the embedding) works.
	if _, err := FromGGUF(src, Options{Type: quant.I2_S}); err != nil {
		t.Errorf("ternary target with a Q5_0 embedding: %v", err)
	}
}

func TestFromGGUFRefusesLinearTensorsThatAreNotMatrices(t *testing.T) {
	w := gguf.NewWriter()
	if err := w.Set("general.architecture", "bitnet"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("blk.0.ffn_up.weight", quant.F32, []uint64{256}, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	src, _ := writeParse(t, w)
	_, err := FromGGUF(src, Options{Type: quant.TQ2_0})
	testutil.WantErr(t, "1-D ffn_up", err, errs.ErrModel, "blk.0.ffn_up.weight")
}

func TestFromGGUFProgressCountsEveryTensor(t *testing.T) {
	ref := openGGUF(t, "gguf/bit3M-bitnet-tq2_0.gguf")
	n, last := 0, 0
	w, err := FromGGUF(ref, Options{Type: quant.I2_S, Progress: func(done, total int, name string) {
		n++
		if done != n || total != len(ref.Tensors)-56 {
			t.Errorf("progress (%d, %d, %s), call %d", done, total, name, n)
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := writeParse(t, w)
	if n != len(out.Tensors) || last != len(out.Tensors) {
		t.Errorf("%d progress calls for %d tensors", n, len(out.Tensors))
	}
}

func TestIsLinearNamesTheSevenMatrices(t *testing.T) {
	for _, name := range []string{"blk.0.attn_q.weight", "blk.12.attn_k.weight", "blk.1.attn_v.weight", "blk.1.attn_output.weight", "blk.3.ffn_gate.weight", "blk.3.ffn_up.weight", "blk.3.ffn_down.weight"} {
		if !isLinear(name) {
			t.Errorf("%s not recognised as linear", name)
		}
	}
	for _, name := range []string{"token_embd.weight", "output.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.scale", "blk.0.attn_sub_norm.weight", "xblk.0.attn_q.weight", "blk.0.attn_q.weight.x", "blk.x.attn_q.weight"} {
		if isLinear(name) {
			t.Errorf("%s recognised as linear", name)
		}
	}
}

func TestFileTypesFollowLlamaCppAndBitnetCpp(t *testing.T) {
	for typ, want := range map[quant.Type]uint32{quant.F32: 0, quant.F16: 1, quant.Q8_0: 7, quant.BF16: 32, quant.TQ1_0: 36, quant.TQ2_0: 37, quant.I2_S: 40, quant.Q4_0: 2, quant.Q6_K: 18} {
		if got := fileType(typ); got != want {
			t.Errorf("fileType(%v) = %d, want %d", typ, got, want)
		}
	}
	for _, typ := range quant.Types() {
		info, _ := quant.Lookup(typ)
		if IsTernaryType(typ) != (typ == quant.I2_S || typ == quant.TQ1_0 || typ == quant.TQ2_0) || (IsTernaryType(typ) && !info.Ternary) {
			t.Errorf("IsTernaryType(%v) = %v", typ, IsTernaryType(typ))
		}
	}
}
