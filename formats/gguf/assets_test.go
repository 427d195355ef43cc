package gguf

import (
	"bytes"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
)

// Expected values below were read from the files with llama.cpp's gguf-py
// (GGUFReader), an independent implementation.

func openAsset(t testing.TB, rel string) *File {
	t.Helper()
	f, err := Open(testassets.Path(t, rel))
	if err != nil {
		t.Fatalf("Open(%s): %v", rel, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func wantUint(t *testing.T, f *File, key string, want uint64) {
	t.Helper()
	if got, ok := f.Metadata.Uint(key); !ok || got != want {
		t.Errorf("%s = %d (%v), want %d", key, got, ok, want)
	}
}

func wantString(t *testing.T, f *File, key, want string) {
	t.Helper()
	if got, ok := f.Metadata.String(key); !ok || got != want {
		t.Errorf("%s = %q (%v), want %q", key, got, ok, want)
	}
}

func wantFloat(t *testing.T, f *File, key string, want float32) {
	t.Helper()
	v, ok := f.Metadata.Get(key)
	if got, _ := v.Data().(float32); !ok || v.Type != TypeFloat32 || got != want {
		t.Errorf("%s = %v, want f32 %v", key, v, want)
	}
}

// checkTokenizer checks the Llama-2 SentencePiece vocabulary arrays shared
// by the files (vocab entries, scores and token types).
func checkTokenizer(t *testing.T, f *File, n int, last string, lastScore float32, typeSum int64) {
	t.Helper()
	wantString(t, f, "tokenizer.ggml.model", "llama")
	toks, ok := f.Metadata.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != n {
		t.Fatalf("tokenizer.ggml.tokens: %d strings (%v), want %d", len(toks), ok, n)
	}
	for i, want := range []string{"<unk>", "<s>", "</s>", "<0x00>", "<0x01>"} {
		if toks[i] != want {
			t.Errorf("token %d = %q, want %q", i, toks[i], want)
		}
	}
	if toks[n-1] != last {
		t.Errorf("last token = %q, want %q", toks[n-1], last)
	}
	scores, ok := f.Metadata.Float32s("tokenizer.ggml.scores")
	if v, _ := f.Metadata.Get("tokenizer.ggml.scores"); !ok || v.Elem != TypeFloat32 || len(scores) != n || scores[0] != 0 || scores[n-1] != lastScore {
		t.Errorf("tokenizer.ggml.scores: %v", v)
	}
	types, ok := f.Metadata.Int32s("tokenizer.ggml.token_type")
	if v, _ := f.Metadata.Get("tokenizer.ggml.token_type"); !ok || v.Elem != TypeInt32 || len(types) != n {
		t.Fatalf("tokenizer.ggml.token_type: %v", v)
	}
	sum := int64(0)
	for _, x := range types {
		sum += int64(x)
	}
	if types[0] != 2 || types[1] != 3 || types[3] != 6 || sum != typeSum {
		t.Errorf("token types start %v, sum %d; want [2 3 3 6 ...] sum %d", types[:4], sum, typeSum)
	}
	wantUint(t, f, "tokenizer.ggml.bos_token_id", 1)
	wantUint(t, f, "tokenizer.ggml.eos_token_id", 2)
	wantUint(t, f, "tokenizer.ggml.unknown_token_id", 0)
	if b, ok := f.Metadata.Bool("tokenizer.ggml.add_bos_token"); !ok || !b {
		t.Errorf("add_bos_token = %v, %v", b, ok)
	}
}

// checkTensor checks a tensor's table entry and the first bytes and byte sum
// of its data.
func checkTensor(t *testing.T, f *File, name string, typ quant.Type, dims []uint64, off, size uint64, first []byte, sum uint64) {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %q", name)
	}
	if ti.Type != typ || !equalDims(ti.Dims, dims) || ti.Offset != off || ti.Size != size {
		t.Errorf("%s: %v %v at %d size %d; want %v %v at %d size %d", name, ti.Type, ti.Dims, ti.Offset, ti.Size, typ, dims, off, size)
	}
	d := f.Data(ti)
	s := uint64(0)
	for _, x := range d {
		s += uint64(x)
	}
	if !bytes.HasPrefix(d, first) || s != sum {
		t.Errorf("%s: data starts %v, byte sum %d; want %v, %d", name, d[:min(len(d), len(first))], s, first, sum)
	}
}

func countTypes(f *File) map[quant.Type]int {
	m := map[quant.Type]int{}
	for _, ti := range f.Tensors {
		m[ti.Type]++
	}
	return m
}

func TestStories260KF32FileParses(t *testing.T) {
	f := openAsset(t, "gguf/stories260K-f32.gguf")
	if f.Version != 3 || f.Metadata.Len() != 20 || len(f.Tensors) != 47 || f.DataOffset != 14144 || f.Size != 1054272 {
		t.Fatalf("version %d, %d entries, %d tensors, data at %d, size %d", f.Version, f.Metadata.Len(), len(f.Tensors), f.DataOffset, f.Size)
	}
	wantString(t, f, "general.architecture", "llama")
	wantString(t, f, "general.name", "stories260K")
	wantUint(t, f, "general.file_type", 0)
	wantUint(t, f, "llama.context_length", 512)
	wantUint(t, f, "llama.embedding_length", 64)
	wantUint(t, f, "llama.block_count", 5)
	wantUint(t, f, "llama.feed_forward_length", 172)
	wantUint(t, f, "llama.rope.dimension_count", 8)
	wantUint(t, f, "llama.attention.head_count", 8)
	wantUint(t, f, "llama.attention.head_count_kv", 4)
	wantFloat(t, f, "llama.attention.layer_norm_rms_epsilon", 1e-5)
	checkTokenizer(t, f, 512, "\u200a", -252, 1797)
	if b, ok := f.Metadata.Bool("tokenizer.ggml.add_eos_token"); !ok || b {
		t.Errorf("add_eos_token = %v, %v", b, ok)
	}
	if c := countTypes(f); c[quant.F32] != 47 {
		t.Errorf("tensor types %v, want 47 F32", c)
	}
	checkTensor(t, f, "token_embd.weight", quant.F32, []uint64{64, 512}, 0, 131072, []byte{80, 233, 150, 190, 100, 216, 15, 63}, 16323101)
	checkTensor(t, f, "blk.0.attn_q.weight", quant.F32, []uint64{64, 64}, 131328, 16384, []byte{54, 213, 53, 61}, 2051578)
	checkTensor(t, f, "blk.0.ffn_down.weight", quant.F32, []uint64{172, 64}, 224768, 44032, []byte{76, 57, 10, 62}, 5469046)
	checkTensor(t, f, "output_norm.weight", quant.F32, []uint64{64}, 1039872, 256, []byte{239, 84, 29, 64}, 29934)
	if f.Tensors[len(f.Tensors)-1].Name != "output_norm.weight" {
		t.Errorf("last tensor %q", f.Tensors[len(f.Tensors)-1].Name)
	}
}

func TestBit3MTernaryFileParses(t *testing.T) {
	f := openAsset(t, "gguf/bit3M-bitnet-tq2_0.gguf")
	if f.Metadata.Len() != 20 || len(f.Tensors) != 146 || f.DataOffset != 19520 || f.Size != 1390400 {
		t.Fatalf("%d entries, %d tensors, data at %d, size %d", f.Metadata.Len(), len(f.Tensors), f.DataOffset, f.Size)
	}
	if f.Architecture() != "bitnet" {
		t.Errorf("architecture %q", f.Architecture())
	}
	wantString(t, f, "general.name", "bitllama2c")
	wantUint(t, f, "bitnet.embedding_length", 256)
	wantUint(t, f, "bitnet.block_count", 8)
	wantUint(t, f, "bitnet.feed_forward_length", 256)
	wantUint(t, f, "bitnet.rope.dimension_count", 32)
	wantUint(t, f, "bitnet.attention.head_count", 8)
	wantUint(t, f, "bitnet.attention.head_count_kv", 4)
	wantFloat(t, f, "bitnet.attention.layer_norm_rms_epsilon", 1e-12)
	wantFloat(t, f, "bitnet.rope.freq_base", 10000)
	checkTokenizer(t, f, 512, "\u200a", -252, 1797)
	if c := countTypes(f); c[quant.F32] != 90 || c[quant.TQ2_0] != 56 || len(c) != 2 {
		t.Errorf("tensor types %v, want 90 F32 and 56 TQ2_0", c)
	}
	checkTensor(t, f, "token_embd.weight", quant.F32, []uint64{256, 512}, 0, 524288, []byte{197, 198, 44, 59}, 65473077)
	checkTensor(t, f, "output_norm.weight", quant.F32, []uint64{256}, 524288, 1024, []byte{103, 4, 35, 65}, 120718)
	checkTensor(t, f, "blk.0.attn_q.weight", quant.TQ2_0, []uint64{256, 256}, 529408, 16896, []byte{168, 32, 144, 84, 128, 34, 8, 2}, 1410898)
	checkTensor(t, f, "blk.0.attn_q.scale", quant.F32, []uint64{1}, 546304, 4, []byte{116, 139, 7, 64}, 326)
	for l := 0; l < 8; l++ {
		for _, m := range []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"} {
			name := "blk." + itoa(l) + "." + m
			w, ok1 := f.Tensor(name + ".weight")
			s, ok2 := f.Tensor(name + ".scale")
			if !ok1 || !ok2 || w.Type != quant.TQ2_0 || s.Type != quant.F32 || !equalDims(s.Dims, []uint64{1}) {
				t.Errorf("%s: weight %v scale %v", name, w, s)
			}
		}
	}
	if f.Tensors[len(f.Tensors)-1].Name != "blk.7.ffn_up.scale" {
		t.Errorf("last tensor %q", f.Tensors[len(f.Tensors)-1].Name)
	}
}

func TestLlamaSPMVocabFileParses(t *testing.T) {
	f := openAsset(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	// gguf-py wrote this file without tensors and without padding: the data
	// section would start past its end, which is fine with no tensors.
	if f.Metadata.Len() != 22 || len(f.Tensors) != 0 || f.Size != 723869 || f.DataOffset != 723872 {
		t.Fatalf("%d entries, %d tensors, size %d, data at %d", f.Metadata.Len(), len(f.Tensors), f.Size, f.DataOffset)
	}
	wantString(t, f, "general.architecture", "llama")
	wantString(t, f, "general.name", "llama-spm")
	wantString(t, f, "tokenizer.ggml.pre", "default")
	wantUint(t, f, "llama.vocab_size", 32000)
	wantUint(t, f, "general.file_type", 1)
	checkTokenizer(t, f, 32000, "给", -31740, 33285)
}

// Re-writing a real file from its parsed form with the Writer reproduces it
// byte for byte: gguf-py and this writer lay files out the same way.
func TestWriterReproducesRealFilesByteForByte(t *testing.T) {
	for _, rel := range []string{"gguf/stories260K-f32.gguf", "gguf/bit3M-bitnet-tq2_0.gguf", "tokenizers/ggml-vocab-llama-spm.gguf"} {
		f := openAsset(t, rel)
		got := writeBytes(t, rewrite(t, f))
		if !bytes.Equal(got, f.Bytes()) {
			n := 0
			for n < len(got) && n < len(f.Bytes()) && got[n] == f.Bytes()[n] {
				n++
			}
			t.Errorf("%s: re-written file differs from byte %d (%d vs %d bytes)", rel, n, len(got), f.Size)
		}
	}
}

// rewrite returns a writer holding f's metadata and tensors.
func rewrite(t testing.TB, f *File) *Writer {
	t.Helper()
	w := NewWriter()
	for _, kv := range f.Metadata.Entries() {
		w.Metadata.Set(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, f.Data(ti)); err != nil {
			t.Fatalf("AddTensor(%q): %v", ti.Name, err)
		}
	}
	return w
}

// BenchmarkParseVocab32000 parses a tokenizer file of 32000 tokens, scores
// and types (the work of loading a model's vocabulary).
func BenchmarkParseVocab32000(b *testing.B) {
	f := openAsset(b, "tokenizers/ggml-vocab-llama-spm.gguf")
	data := bytes.Clone(f.Bytes())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
