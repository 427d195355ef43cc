package hf

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/safetensors"
	"github.com/bitnet-dev/bitnet/quant"
)

func TestUnpackTernaryFollowsTheDocumentedByteLayout(t *testing.T) {
	// 8 rows x 2 columns: byte [r, c] holds rows r + 2k in bits 2k..2k+1.
	packed := []byte{
		0b10_01_00_10, 0b00_00_00_00, // row-pair 0: rows 0,2,4,6 of column 0 / 1
		0b01_10_10_00, 0b10_10_10_10,
	}
	codes := UnpackTernary(packed, 8, 2)
	want := []int8{
		1, -1, // row 0: bits 0-1 of bytes [0,0], [0,1]
		-1, 1, // row 1: bits 0-1 of [1,0], [1,1]
		-1, -1, // row 2: bits 2-3
		1, 1,
		0, -1, // row 4: bits 4-5
		1, 1,
		1, -1, // row 6: bits 6-7
		0, 1,
	}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
	if back := PackTernary(codes, 8, 2); string(back) != string(packed) {
		t.Errorf("PackTernary gives %08b, want %08b", back, packed)
	}
}

func TestCheckPackedRejectsCodeThree(t *testing.T) {
	if err := checkPacked([]byte{0b10_01_00_10, 0b00_11_00_00}, "w"); !errors.Is(err, errs.ErrFormat) || !strings.Contains(err.Error(), "byte 1") {
		t.Errorf("error %v", err)
	}
	if err := checkPacked([]byte{0b10_10_10_10, 0b01_01_01_01, 0}, "w"); err != nil {
		t.Error(err)
	}
}

func TestHalfToInterleavedInvertsInterleavedToHalf(t *testing.T) {
	const rows, cols, hd = 8, 3, 4
	vals := make([]float32, rows*cols)
	for i := range vals {
		vals[i] = float32(i)
	}
	half := InterleavedToHalf(vals, rows, cols, hd)
	// Head 0 rows in rotate-half order: pairs (0,1),(2,3) become rows
	// 0,2 and 1,3: row 1 of the result is original row 2.
	if half[1*cols] != vals[2*cols] || half[2*cols] != vals[1*cols] {
		t.Fatalf("rotate-half order %v", half)
	}
	b, _ := safetensors.EncodeFloat32(safetensors.F32, half)
	back, _ := safetensors.DecodeFloat32(safetensors.F32, halfToInterleaved(b, rows, cols*4, hd), "x")
	for i := range vals {
		if back[i] != vals[i] {
			t.Fatalf("round trip %v", back)
		}
	}
}

func TestSelectPrefersTernaryGGUFThenSafetensors(t *testing.T) {
	cases := []struct {
		files []string
		want  Selection
		err   bool
	}{
		{[]string{"README.md", "ggml-model-f32.gguf", "ggml-model-i2_s.gguf", "config.json", "model.safetensors"},
			Selection{GGUF: "ggml-model-i2_s.gguf"}, false},
		{[]string{"model-00001-of-00002.gguf", "model-00002-of-00002.gguf", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"},
			Selection{Files: []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}}, false},
		{[]string{"config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "tokenizer.model"},
			Selection{Files: []string{"config.json", "model.safetensors.index.json", "tokenizer.model"}, Index: "model.safetensors.index.json"}, false},
		{[]string{"config.json", "b.safetensors", "a.safetensors", "sub/c.safetensors"},
			Selection{Files: []string{"config.json", "a.safetensors", "b.safetensors"}}, false},
		{[]string{"config.json", "pytorch_model.bin"}, Selection{}, true},
		{[]string{"model.safetensors"}, Selection{}, true},
	}
	for _, c := range cases {
		got, err := Select(c.files)
		if c.err {
			if !errors.Is(err, errs.ErrModel) {
				t.Errorf("%v: error %v, want ErrModel", c.files, err)
			}
			continue
		}
		if err != nil || got.GGUF != c.want.GGUF || got.Index != c.want.Index || strings.Join(got.Files, ",") != strings.Join(c.want.Files, ",") {
			t.Errorf("%v: %+v, %v; want %+v", c.files, got, err, c.want)
		}
	}
}

func TestConfigMapsArchitecturesAndScaleModes(t *testing.T) {
	cases := []struct {
		json        string
		arch        string
		scale       ScaleMode
		unsupported bool
	}{
		{`{"architectures":["LlamaForCausalLM"]}`, "llama", ScaleDivide, false},
		{`{"architectures":["BitNetForCausalLM"],"hidden_act":"relu2","quantization_config":{"quant_method":"bitnet","linear_class":"autobitlinear","quantization_mode":"offline"}}`, "bitnet-b1.58", ScaleMultiply, false},
		{`{"architectures":["BitNetForCausalLM"],"hidden_act":"silu","quantization_config":{"quant_method":"bitnet","linear_class":"bitlinear"}}`, "bitnet", ScaleDivide, false},
		{`{"architectures":["BitnetForCausalLM"],"hidden_act":"silu"}`, "bitnet", ScaleDivide, false},
		{`{"architectures":["LlamaForCausalLM"],"hidden_act":"gelu"}`, "", 0, true},
		{`{"architectures":["Qwen2ForCausalLM"]}`, "", 0, true},
	}
	for _, c := range cases {
		cfg, err := ParseConfig([]byte(c.json))
		if err != nil {
			t.Fatal(err)
		}
		a, err := cfg.Architecture()
		if c.unsupported {
			if !errors.Is(err, errs.ErrUnsupported) {
				t.Errorf("%s: %v, want ErrUnsupported", c.json, err)
			}
			continue
		}
		if err != nil || a.GGUF != c.arch || cfg.scaleMode(ScaleAuto) != c.scale {
			t.Errorf("%s: %+v %v, scale %v", c.json, a, err, cfg.scaleMode(ScaleAuto))
		}
	}
}

// writeTiny writes a two-layer BitNetForCausalLM folder with packed
// weights and returns it.
func writeTiny(t *testing.T, edit func(cfg map[string]any, w *safetensors.Writer)) string {
	t.Helper()
	const dim, ffn, vocab = 128, 128, 16
	dir := t.TempDir()
	cfg := map[string]any{"architectures": []string{"BitNetForCausalLM"}, "hidden_act": "relu2", "hidden_size": dim,
		"intermediate_size": ffn, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": vocab,
		"rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true,
		"quantization_config": map[string]any{"quant_method": "bitnet", "linear_class": "autobitlinear"}}
	w := safetensors.NewWriter()
	add := func(name string, shape []uint64, vals []float32) {
		if err := w.AddFloat32(name, safetensors.BF16, shape, vals); err != nil {
			t.Fatal(err)
		}
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	add("model.embed_tokens.weight", []uint64{vocab, dim}, ones(vocab*dim))
	add("model.norm.weight", []uint64{dim}, ones(dim))
	p := "model.layers.0."
	for _, n := range []string{"input_layernorm", "post_attention_layernorm", "self_attn.attn_sub_norm"} {
		add(p+n+".weight", []uint64{dim}, ones(dim))
	}
	add(p+"mlp.ffn_sub_norm.weight", []uint64{ffn}, ones(ffn))
	for _, l := range []struct {
		name       string
		rows, cols int
	}{{"self_attn.q_proj", dim, dim}, {"self_attn.k_proj", 64, dim}, {"self_attn.v_proj", 64, dim}, {"self_attn.o_proj", dim, dim},
		{"mlp.gate_proj", ffn, dim}, {"mlp.up_proj", ffn, dim}, {"mlp.down_proj", dim, ffn}} {
		codes := make([]int8, l.rows*l.cols)
		for i := range codes {
			codes[i] = int8(i%3) - 1
		}
		if err := w.Add(p+l.name+".weight", safetensors.U8, []uint64{uint64(l.rows / 4), uint64(l.cols)}, PackTernary(codes, l.rows, l.cols)); err != nil {
			t.Fatal(err)
		}
		add(p+l.name+".weight_scale", []uint64{1}, []float32{0.5})
	}
	if edit != nil {
		edit(cfg, w)
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenMapsPackedBitNetCheckpointOntoGGUFNames(t *testing.T) {
	m, err := Open(writeTiny(t, nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	src := m.Source
	if src.Architecture() != "bitnet-b1.58" {
		t.Fatalf("architecture %s", src.Architecture())
	}
	if v, _ := src.Metadata.Uint("bitnet-b1.58.attention.head_count_kv"); v != 1 {
		t.Errorf("head_count_kv %d", v)
	}
	if v, _ := src.Metadata.Float("bitnet-b1.58.rope.freq_base"); v != 500000 {
		t.Errorf("rope base %v", v)
	}
	if _, ok := src.Tensor("output.weight"); ok {
		t.Error("tied embeddings produced output.weight")
	}
	k, ok := src.Tensor("blk.0.attn_k.weight")
	if !ok || k.Type != quant.I2_S || k.Dims[0] != 128 || k.Dims[1] != 64 {
		t.Fatalf("attn_k %+v", k)
	}
	data := src.Data(k)
	codes := make([]int8, 64*128)
	gamma, err := quant.UnpackI2S(data, codes)
	if err != nil || gamma != 0.5 {
		t.Fatalf("gamma %v, %v", gamma, err)
	}
	for i, c := range codes {
		if c != int8(i%3)-1 {
			t.Fatalf("code %d = %d, want %d (rows must not be permuted for bitnet archs)", i, c, int8(i%3)-1)
		}
	}
	for _, n := range []string{"token_embd.weight", "output_norm.weight", "blk.0.attn_sub_norm.weight", "blk.0.ffn_sub_norm.weight", "blk.0.ffn_down.weight"} {
		if _, ok := src.Tensor(n); !ok {
			t.Errorf("%s missing", n)
		}
	}
	if e, _ := src.Tensor("token_embd.weight"); e.Type != quant.BF16 {
		t.Errorf("token_embd type %v", e.Type)
	}
}

func TestOpenRejectsMalformedCheckpoints(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(cfg map[string]any, w *safetensors.Writer)
		kind   error
		substr string
	}{
		{"bias", func(cfg map[string]any, w *safetensors.Writer) {
			w.AddFloat32("model.layers.0.self_attn.q_proj.bias", safetensors.F32, []uint64{128}, make([]float32, 128))
		}, errs.ErrUnsupported, "q_proj.bias"},
		{"scale alone", func(cfg map[string]any, w *safetensors.Writer) {
			w.AddFloat32("model.layers.0.mlp.extra_proj.weight_scale", safetensors.F32, []uint64{1}, []float32{1})
		}, errs.ErrUnsupported, "extra_proj"},
		{"code 3", func(cfg map[string]any, w *safetensors.Writer) {
			cfg["num_hidden_layers"] = 2
			b := make([]byte, 32*128)
			b[7] = 0xff
			w.Add("model.layers.1.self_attn.q_proj.weight", safetensors.U8, []uint64{32, 128}, b)
			w.AddFloat32("model.layers.1.self_attn.q_proj.weight_scale", safetensors.F32, []uint64{1}, []float32{1})
		}, errs.ErrFormat, "code 3"},
		{"negative scale", func(cfg map[string]any, w *safetensors.Writer) {
			cfg["num_hidden_layers"] = 2
			w.Add("model.layers.1.self_attn.q_proj.weight", safetensors.U8, []uint64{32, 128}, make([]byte, 32*128))
			w.AddFloat32("model.layers.1.self_attn.q_proj.weight_scale", safetensors.F32, []uint64{1}, []float32{-1})
		}, errs.ErrModel, "positive"},
		{"packed without scale", func(cfg map[string]any, w *safetensors.Writer) {
			cfg["num_hidden_layers"] = 2
			w.Add("model.layers.1.self_attn.q_proj.weight", safetensors.U8, []uint64{32, 128}, make([]byte, 32*128))
		}, errs.ErrModel, "without"},
		{"wrong packed shape", func(cfg map[string]any, w *safetensors.Writer) {
			cfg["num_hidden_layers"] = 2
			w.Add("model.layers.1.self_attn.q_proj.weight", safetensors.U8, []uint64{128, 32}, make([]byte, 32*128))
			w.AddFloat32("model.layers.1.self_attn.q_proj.weight_scale", safetensors.F32, []uint64{1}, []float32{1})
		}, errs.ErrModel, "packed"},
		{"vocab mismatch", func(cfg map[string]any, w *safetensors.Writer) { cfg["vocab_size"] = 17 }, errs.ErrModel, "vocab_size"},
		{"use_rms_norm", func(cfg map[string]any, w *safetensors.Writer) {
			cfg["quantization_config"] = map[string]any{"quant_method": "bitnet", "use_rms_norm": true}
		}, errs.ErrUnsupported, "use_rms_norm"},
		{"other quantization", func(cfg map[string]any, w *safetensors.Writer) {
			cfg["quantization_config"] = map[string]any{"quant_method": "gptq"}
		}, errs.ErrUnsupported, "gptq"},
		{"bad heads", func(cfg map[string]any, w *safetensors.Writer) { cfg["num_key_value_heads"] = 3 }, errs.ErrModel, "num_key_value_heads"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Open(writeTiny(t, c.edit), Options{})
			if err == nil {
				m.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.substr) {
				t.Fatalf("error %q, want %v containing %q", err, c.kind, c.substr)
			}
		})
	}
}

func TestIsModelPathRecognizesFoldersAndSafetensorsContent(t *testing.T) {
	dir := writeTiny(t, nil)
	st := filepath.Join(dir, "model.safetensors")
	odd := filepath.Join(t.TempDir(), "weights.bin")
	b, _ := os.ReadFile(st)
	os.WriteFile(odd, b, 0o644)
	gg := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(gg, []byte("GGUF\x03\x00\x00\x00{\x00\x00\x00\x00\x00\x00\x00"), 0o644)
	for p, want := range map[string]bool{dir: true, st: true, odd: true, gg: false, filepath.Join(dir, "nope"): false} {
		if got := IsModelPath(p); got != want {
			t.Errorf("IsModelPath(%s) = %v", p, got)
		}
	}
}
