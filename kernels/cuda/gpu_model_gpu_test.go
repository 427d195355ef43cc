//go:build gpu

// GPU checks of the whole model on a CUDA device (scripts/gpu_check.sh):
// greedy generation of the real models on the GPU is token for token the
// CPU engine's and the reference programs' text; prefill logits agree with
// the CPU's; the on-device greedy loop is the host loop; and the
// DeviceAwareQuantizer computes on the GPU and falls back to the CPU when
// the GPU fails. The models come from ../shared/assets (or
// $BITNET_SHARED_DIR/assets).

package cuda_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/llama2c"
	"github.com/bitnet-dev/bitnet/internal/testassets"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
	"github.com/bitnet-dev/bitnet/quant"
	"github.com/bitnet-dev/bitnet/sampling"
)

var egCUDA = engine.Device{Kind: engine.DeviceCUDA}

const egSteps = 256 // the golden texts' length

// egConvert converts a llama2.c checkpoint of the shared assets to a GGUF
// writer.
func egConvert(t *testing.T, model string, typ quant.Type) *gguf.Writer {
	t.Helper()
	m, err := llama2c.Open(testassets.Path(t, model))
	if err != nil {
		t.Fatal(err)
	}
	// The writer reads the mapped checkpoint each time it is written.
	t.Cleanup(func() { m.Close() })
	vocab, err := convert.LoadVocab(testassets.Path(t, "models/tok512.model"), m.Config.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	w, err := convert.FromLlama2c(m, vocab, "test", convert.Options{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// egLoad loads w on dev.
func egLoad(t *testing.T, w *gguf.Writer, dev engine.Device) *engine.Model {
	t.Helper()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.FromGGUF(f, engine.Options{Threads: 2, Device: dev})
	if err != nil {
		t.Fatalf("load on %v: %v", dev, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func egLoadFile(t *testing.T, rel string, dev engine.Device) *engine.Model {
	t.Helper()
	m, err := engine.Load(testassets.Path(t, rel), engine.Options{Threads: 2, Device: dev})
	if err != nil {
		t.Fatalf("load %s on %v: %v", rel, dev, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func egGreedy(t *testing.T, m *engine.Model, n int) ([]int32, string) {
	t.Helper()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := sampling.DefaultConfig()
	cfg.Temperature = 0
	res, err := s.Generate(context.Background(), []int32{m.Tokenizer.BOS()},
		engine.GenerateOptions{MaxNewTokens: n, Sampling: cfg, IgnoreEOS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Tokens, res.Text
}

func egGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testassets.Path(t, "golden/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func egFirstDiff(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func TestGPUGreedyGenerationMatchesCPUAndGoldenTexts(t *testing.T) {
	type load func(t *testing.T, dev engine.Device) *engine.Model
	conv := func(model string, typ quant.Type) load {
		return func(t *testing.T, dev engine.Device) *engine.Model { return egLoad(t, egConvert(t, model, typ), dev) }
	}
	cases := []struct {
		name   string
		load   load
		golden string
	}{
		{"stories260K-F32", conv("models/stories260K.bin", quant.F32), "stories260K.runc.greedy.txt"},
		{"stories260K-F16", conv("models/stories260K.bin", quant.F16), ""},
		{"stories260K-provided-GGUF", func(t *testing.T, dev engine.Device) *engine.Model {
			return egLoadFile(t, "gguf/stories260K-f32.gguf", dev)
		}, "stories260K.runc.greedy.txt"},
		{"bitllama2c-3M-I2_S", conv("models/bitllama2c-3M.bin", quant.I2_S), "bitllama2c-3M.runbit.greedy.txt"},
		{"bitllama2c-3M-TQ2_0", conv("models/bitllama2c-3M.bin", quant.TQ2_0), "bitllama2c-3M.runbit.greedy.txt"},
		{"bitllama2c-3M-TQ1_0", conv("models/bitllama2c-3M.bin", quant.TQ1_0), "bitllama2c-3M.runbit.greedy.txt"},
		{"bitllama2c-3M-F32", conv("models/bitllama2c-3M.bin", quant.F32), "bitllama2c-3M.runbit.greedy.txt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gpuIDs, gpuText := egGreedy(t, c.load(t, egCUDA), egSteps)
			cpuIDs, _ := egGreedy(t, c.load(t, engine.Device{Kind: engine.DeviceCPU}), egSteps)
			if !slices.Equal(gpuIDs, cpuIDs) {
				t.Fatalf("GPU tokens differ from the CPU's from token %d:\nGPU %v\nCPU %v", egFirstDiff(gpuIDs, cpuIDs), gpuIDs, cpuIDs)
			}
			if c.golden != "" {
				if want := egGolden(t, c.golden); gpuText+"\n" != want {
					t.Fatalf("GPU text differs from %s:\n got %q\nwant %q", c.golden, gpuText, want)
				}
			}
		})
	}
}

// The provided bit3M TQ2_0 file with the reference's epsilons gives the
// reference text (engine/golden_test.go shows it on the CPU).
func TestGPUProvidedTQ2FileWithReferenceEpsilonsGivesTheGoldenText(t *testing.T) {
	f, err := gguf.Open(testassets.Path(t, "gguf/bit3M-bitnet-tq2_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := convert.FromGGUF(f, convert.Options{Type: quant.TQ2_0})
	if err != nil {
		t.Fatal(err)
	}
	w.Metadata.Set("bitnet.attention.layer_norm_rms_epsilon", gguf.MustValue(float32(0)))
	w.Metadata.Set("bitnet."+engine.KeyOutputNormEpsilon, gguf.MustValue(float32(1e-5)))
	_, text := egGreedy(t, egLoad(t, w, egCUDA), egSteps)
	if want := egGolden(t, "bitllama2c-3M.runbit.greedy.txt"); text+"\n" != want {
		t.Fatalf("text differs:\n got %q\nwant %q", text, want)
	}
}

// Prefill in chunks (more tokens than the GPU batch), all logits, against
// the CPU engine: the ternary model's hidden states are exact, so only the
// float output head's summation order may differ.
func TestGPUPrefillLogitsMatchCPU(t *testing.T) {
	for _, c := range []struct {
		model string
		typ   quant.Type
		tol   float64
	}{{"models/bitllama2c-3M.bin", quant.I2_S, 1e-4}, {"models/stories260K.bin", quant.F32, 1e-3}} {
		gm := egLoad(t, egConvert(t, c.model, c.typ), egCUDA)
		cm := egLoad(t, egConvert(t, c.model, c.typ), engine.Device{Kind: engine.DeviceCPU})
		r := rand.New(rand.NewPCG(1, 2))
		prompt := make([]int32, 300)
		for i := range prompt {
			prompt[i] = int32(r.IntN(gm.Hyper.Vocab))
		}
		gs, err := gm.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer gs.Close()
		cs, _ := cm.NewSession()
		got, err := gs.Forward(prompt, true)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cs.Forward(prompt, true)
		if err != nil {
			t.Fatal(err)
		}
		vocab := gm.Hyper.Vocab
		for row := 0; row < len(prompt); row++ {
			g, w := got[row*vocab:(row+1)*vocab], want[row*vocab:(row+1)*vocab]
			var scale float64
			for _, v := range w {
				scale = max(scale, math.Abs(float64(v)))
			}
			for i := range w {
				if d := math.Abs(float64(g[i] - w[i])); d > c.tol*scale || g[i] != g[i] {
					t.Fatalf("%s %v: logit %d of token %d is %v on the GPU, %v on the CPU", c.model, c.typ, i, row, g[i], w[i])
				}
			}
		}
		// Rewind and continue one token at a time (the decode graph at
		// explicit positions): the same logits as the prefill gave.
		if err := gs.Truncate(250); err != nil {
			t.Fatal(err)
		}
		for p := 250; p < 260; p++ {
			l, err := gs.Forward(prompt[p:p+1], false)
			if err != nil {
				t.Fatal(err)
			}
			for i := range l {
				if d := math.Abs(float64(l[i] - got[p*vocab+i])); d > c.tol*math.Abs(float64(got[p*vocab+i]))+1e-3 {
					t.Fatalf("decode at %d: logit %d is %v, the prefill gave %v", p, i, l[i], got[p*vocab+i])
				}
			}
		}
	}
}

func TestGPUGreedyOnDeviceIsTheHostGreedyLoop(t *testing.T) {
	m := egLoad(t, egConvert(t, "models/bitllama2c-3M.bin", quant.I2_S), egCUDA)
	want, _ := egGreedy(t, m, 200)
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Forward([]int32{m.Tokenizer.BOS()}, false); err != nil {
		t.Fatal(err)
	}
	got, err := s.GreedyOnDevice(200)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("on-device greedy differs from token %d:\ngot  %v\nwant %v", egFirstDiff(got, want), got, want)
	}
	if g := m.GPU(); g == nil {
		t.Fatal("the model has no GPU backend")
	} else if !g.FastNorm() {
		t.Error("the load-time check turned the warp-parallel norm sum off: it differs from the sequential sum on this device")
	}
}

func TestGPUDeviceAwareQuantizerMatchesCPUAndFallsBack(t *testing.T) {
	g, err := cuda.NewI2SMatMul(0)
	if err != nil {
		t.Fatal(err)
	}
	q, err := cuda.NewDeviceAwareQuantizer(cuda.Target{Kind: cuda.TargetCUDA}, g, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	r := rand.New(rand.NewPCG(3, 4))
	rows, cols, n := 300, 1024, 3
	codes := make([]int8, rows*cols)
	for i := range codes {
		codes[i] = int8(r.IntN(3)) - 1
	}
	w := make([]byte, rows*cols/4+quant.I2STail)
	if err := quant.PackI2S(codes, 0.8, w); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*cols)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	qa, s, err := q.Quantize(x, cols)
	if err != nil {
		t.Fatal(err)
	}
	pool := kernels.NewPool(2)
	defer pool.Close()
	wantQ, wantS := make([]int8, n*cols), make([]float32, n)
	kernels.NewReference(pool).QuantizeRows(wantQ, wantS, x, n, cols)
	if !slices.Equal(qa, wantQ) || !slices.Equal(s, wantS) {
		t.Fatal("GPU quantization differs from the CPU's")
	}
	mat, _ := kernels.NewMatrix("w", quant.I2_S, rows, cols, w, 1)
	want := make([]float32, n*rows)
	kernels.NewReference(pool).MatMulI8(want, mat, qa, s, n)
	out := make([]float32, n*rows)
	if err := q.MatMulI2S(w, rows, cols, qa, s, n, out); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, want) {
		t.Fatal("GPU I2_S product differs from the CPU's")
	}
	if st := q.Stats(); st.GPUOperations != 2 || st.Fallbacks != 0 {
		t.Fatalf("stats after GPU work: %+v", st)
	}
	// Make the GPU fail: the quantizer redoes the work on the CPU.
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	clear(out)
	if err := q.MatMulI2S(w, rows, cols, qa, s, n, out); err != nil {
		t.Fatalf("after the GPU failed: %v", err)
	}
	if !slices.Equal(out, want) {
		t.Fatal("the CPU fallback differs")
	}
	if st := q.Stats(); st.Fallbacks != 1 || st.LastGPUError == "" {
		t.Fatalf("stats after a GPU failure: %+v", st)
	}
}

// The BitNet b1.58 graph (squared ReLU, rotate-half RoPE, sub-norms, F16
// tied embedding) on a small random model: the GPU's greedy tokens are the
// CPU's, for I2_S and TQ2_0 weights.
func TestGPUTinyRandomB158ModelMatchesCPU(t *testing.T) {
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0} {
		w, err := convert.Random("tiny", 7, convert.Options{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		gm, cm := egLoad(t, w, egCUDA), egLoad(t, w, engine.Device{Kind: engine.DeviceCPU})
		gpu, _ := egGreedy(t, gm, 64)
		cpu, _ := egGreedy(t, cm, 64)
		if !slices.Equal(gpu, cpu) {
			t.Fatalf("%v: GPU tokens differ from the CPU's from token %d:\nGPU %v\nCPU %v", typ, egFirstDiff(gpu, cpu), gpu, cpu)
		}
	}
}
