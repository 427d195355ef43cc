package convert_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/hf/hftest"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/quant"
	"github.com/bitnet-dev/bitnet/sampling"
	"github.com/bitnet-dev/bitnet/tokenize"
)

const goldenSteps = 256

func hfFolder(t *testing.T, model string, v hftest.Variant) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hf")
	if err := hftest.WriteLlama2c(dir, testassets.Path(t, model), testassets.Path(t, "models/tok512.model"), v); err != nil {
		t.Fatal(err)
	}
	return dir
}

// convertHF converts a folder to GGUF in memory and loads the result.
func convertHF(t *testing.T, dir string, typ quant.Type) (*engine.Model, *gguf.File) {
	t.Helper()
	return convertHFOpts(t, dir, convert.Options{Type: typ})
}

func convertHFOpts(t *testing.T, dir string, opts convert.Options) (*engine.Model, *gguf.File) {
	t.Helper()
	m, err := hf.Open(dir, hf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	calls := 0
	opts.Progress = func(done, total int, name string) { calls++ }
	w, err := convert.FromHF(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if calls != len(f.Tensors) {
		t.Errorf("progress called %d times for %d tensors", calls, len(f.Tensors))
	}
	mdl, err := engine.FromGGUF(f, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mdl.Close() })
	return mdl, f
}

func greedyText(t *testing.T, m *engine.Model) string {
	t.Helper()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	cfg := sampling.DefaultConfig()
	cfg.Temperature = 0
	res, err := s.Generate(context.Background(), []int32{m.Tokenizer.BOS()},
		engine.GenerateOptions{MaxNewTokens: goldenSteps, Sampling: cfg, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Text + "\n"
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testassets.Path(t, "golden/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHFLlamaFolderConvertedToGGUFReproducesReference(t *testing.T) {
	dir := hfFolder(t, "models/stories260K.bin", hftest.Variant{Arch: "LlamaForCausalLM"})
	want := golden(t, "stories260K.runc.greedy.txt")
	for _, typ := range []quant.Type{quant.F32, quant.F16} {
		t.Run(typ.String(), func(t *testing.T) {
			m, f := convertHF(t, dir, typ)
			if a := f.Architecture(); a != "llama" {
				t.Fatalf("architecture %s", a)
			}
			got := greedyText(t, m)
			if typ == quant.F32 && got != want {
				t.Fatalf("text differs:\n got %q\nwant %q", got, want)
			}
			if typ == quant.F16 && len(got) < 100 {
				t.Fatalf("f16 model generated %q", got)
			}
		})
	}
}

func TestHFLlamaFolderRefusesTernaryTargets(t *testing.T) {
	dir := hfFolder(t, "models/stories260K.bin", hftest.Variant{Arch: "LlamaForCausalLM"})
	m, err := hf.Open(dir, hf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w, err := convert.FromHF(m, convert.Options{Type: quant.TQ2_0})
	if err == nil {
		_, err = w.WriteTo(&bytes.Buffer{})
	}
	if err == nil {
		t.Fatal("a float llama model was written as TQ2_0")
	}
}

func TestHFBitNetFoldersConvertedToGGUFReproduceTernaryReference(t *testing.T) {
	want := golden(t, "bitllama2c-3M.runbit.greedy.txt")
	folders := map[string]hftest.Variant{
		"packed": {Arch: "BitNetForCausalLM", Weights: "packed", LinearClass: "autobitlinear"},
		"f32":    {Arch: "BitNetForCausalLM", Weights: "f32", Shards: 2},
	}
	for fname, v := range folders {
		dir := hfFolder(t, "models/bitllama2c-3M.bin", v)
		for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.TQ1_0, quant.F16} {
			t.Run(fname+"/"+typ.String(), func(t *testing.T) {
				opts := convert.Options{Type: typ}
				if typ == quant.F16 {
					// The embedding would be F16 too by default; the
					// reference's is f32.
					f32 := quant.F32
					opts.EmbedType = &f32
				}
				m, f := convertHFOpts(t, dir, opts)
				if a := f.Architecture(); a != "bitnet" {
					t.Fatalf("architecture %s", a)
				}
				q, ok := f.Tensor("blk.0.attn_q.weight")
				if !ok || q.Type != typ {
					t.Fatalf("blk.0.attn_q.weight: %+v", q)
				}
				_, hasScale := f.Tensor("blk.0.attn_q.scale")
				if hasScale == (typ == quant.I2_S) {
					t.Errorf("%v: blk.0.attn_q.scale present = %v", typ, hasScale)
				}
				if got := greedyText(t, m); got != want {
					t.Fatalf("text differs:\n got %q\nwant %q", got, want)
				}
			})
		}
	}
}

// The llama3 tokenizer.json of the shared assets, embedded by the
// converter, encodes like the tokenizer.json itself.
func TestHFConverterEmbedsByteLevelBPETokenizer(t *testing.T) {
	dir := hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "f32"})
	os.Remove(filepath.Join(dir, "tokenizer.model"))
	for _, n := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(testassets.Path(t, "tokenizers/llama3-"+n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The vocabulary (128256) exceeds this model's 512 tokens: only the
	// tokenizer part is exercised, through a model-less writer.
	w := gguf.NewWriter()
	if err := convert.AddFolderVocabForTest(w, dir, 0); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if pre, _ := f.Metadata.String(tokenize.KeyPre); pre != "llama-bpe" {
		t.Errorf("pre %q", pre)
	}
	fromGGUF, err := tokenize.FromGGUF(f.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := tokenize.FromHFJSON(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"Hello world", " Once upon a time, 123 cats!\n\nélan <|eot_id|>", "  tabs\tand  spaces"} {
		opts := tokenize.EncodeOptions{AddBOS: true, ParseSpecial: true}
		a, err1 := fromGGUF.Encode(text, opts)
		b, err2 := fromJSON.Encode(text, opts)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !equal(a, b) {
			t.Errorf("%q: gguf %v, tokenizer.json %v", text, a, b)
		}
	}
	if fromGGUF.BOS() != fromJSON.BOS() || fromGGUF.EOS() != fromJSON.EOS() {
		t.Errorf("bos/eos %d/%d vs %d/%d", fromGGUF.BOS(), fromGGUF.EOS(), fromJSON.BOS(), fromJSON.EOS())
	}
}

func equal(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Master weights (not ternary-valued) are ternarized with absmean, the same
// way when the engine loads the folder and when the converter writes it.
func TestHFMasterWeightsTernarizeAlikeInEngineAndConverter(t *testing.T) {
	dir := hfFolder(t, "models/bitllama2c-3M.bin", hftest.Variant{Arch: "BitNetForCausalLM", Weights: "f32", Jitter: true})
	direct, err := engine.Load(dir, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	want := greedyText(t, direct)
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ1_0, quant.F16} {
		opts := convert.Options{Type: typ}
		if typ == quant.F16 {
			f32 := quant.F32
			opts.EmbedType = &f32
		}
		m, f := convertHFOpts(t, dir, opts)
		if q, _ := f.Tensor("blk.3.ffn_up.weight"); q.Type != typ {
			t.Fatalf("%v: ffn_up is %v", typ, q.Type)
		}
		if got := greedyText(t, m); got != want {
			t.Errorf("%v: converted model generates %q, the folder %q", typ, got, want)
		}
	}
	if want == golden(t, "bitllama2c-3M.runbit.greedy.txt") {
		t.Log("the jittered weights ternarize back to the reference's codes")
	}
}
