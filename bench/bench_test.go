package bench

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

func TestSumWordsAddsEveryWordOnce(t *testing.T) {
	for n := 0; n < 40; n++ {
		b := make([]uint64, n)
		var want uint64
		for i := range b {
			b[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
			want += b[i]
		}
		if got := SumWords(b); got != want {
			t.Fatalf("SumWords of %d words = %d, want %d", n, got, want)
		}
	}
}

func TestProbeBandwidthReturnsPositiveFigurePerThreadCount(t *testing.T) {
	for _, size := range []int64{1 << 20, 1<<20 + 8} { // even and odd word counts
		bw, err := ProbeBandwidth(size, 2, []int{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(bw) != 3 {
			t.Fatalf("got %d results, want 3", len(bw))
		}
		for i, b := range bw {
			if b.Threads != i+1 || !(b.GBps > 0) || math.IsInf(b.GBps, 0) || b.Bytes != size || b.Passes != 2 {
				t.Errorf("result %d: %+v", i, b)
			}
		}
	}
}

func TestProbeBandwidthRejectsBadArguments(t *testing.T) {
	for _, c := range []struct {
		size    int64
		passes  int
		threads []int
	}{{0, 1, []int{1}}, {1 << 20, 0, []int{1}}, {1 << 20, 1, []int{0}}} {
		if _, err := ProbeBandwidth(c.size, c.passes, c.threads); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("ProbeBandwidth(%d, %d, %v): err %v, want ErrInvalidArgument", c.size, c.passes, c.threads, err)
		}
	}
}

func TestSummarizeGivesMedianExtremesAndSpread(t *testing.T) {
	s := Summarize([]float64{5, 1, 3})
	if s.Median != 3 || s.Min != 1 || s.Max != 5 || s.Mean != 3 || s.N != 3 || s.StdDev != 2 {
		t.Errorf("odd count: %+v", s)
	}
	if s.Values[0] != 5 {
		t.Errorf("values must keep the measured order: %v", s.Values)
	}
	if s := Summarize([]float64{4, 1, 2, 3}); s.Median != 2.5 {
		t.Errorf("even count: median %v, want 2.5", s.Median)
	}
	if s := Summarize(nil); s.N != 0 || s.Median != 0 {
		t.Errorf("no values: %+v", s)
	}
}

func tinyModel(t *testing.T, rm RandomModel) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := WriteRandomModel(path, rm); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWriteRandomModelRenamesArchitectureKeys(t *testing.T) {
	rm := RandomModel{Shape: "tiny", Type: quant.TQ2_0, EmbedType: quant.Q8_0, Seed: 3, Arch: "bitnet"}
	path := tinyModel(t, rm)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if a := f.Architecture(); a != "bitnet" {
		t.Fatalf("architecture %q, want bitnet", a)
	}
	h := convert.Shapes["tiny"]
	if v, ok := f.Metadata.Uint("bitnet.embedding_length"); !ok || v != uint64(h.Dim) {
		t.Errorf("bitnet.embedding_length = %d, %v; want %d", v, ok, h.Dim)
	}
	if v, ok := f.Metadata.Uint("bitnet.attention.head_count_kv"); !ok || v != uint64(h.KVHeads) {
		t.Errorf("bitnet.attention.head_count_kv = %d, %v; want %d", v, ok, h.KVHeads)
	}
	for _, kv := range f.Metadata.Entries() {
		if len(kv.Key) > 13 && kv.Key[:13] == "bitnet-b1.58." {
			t.Errorf("key %s of the old architecture left", kv.Key)
		}
	}
	if q, _ := f.Tensor("blk.0.attn_q.weight"); q.Type != quant.TQ2_0 {
		t.Errorf("attn_q type %v, want TQ2_0", q.Type)
	}
	if e, _ := f.Tensor("token_embd.weight"); e.Type != quant.Q8_0 {
		t.Errorf("token_embd type %v, want Q8_0", e.Type)
	}
	if !IsRandomModel(path, rm) {
		t.Error("IsRandomModel does not recognize the file it wrote")
	}
	other := rm
	other.Seed = 4
	if IsRandomModel(path, other) {
		t.Error("IsRandomModel accepts a file of another seed")
	}
	if IsRandomModel(filepath.Join(t.TempDir(), "missing.gguf"), rm) {
		t.Error("IsRandomModel accepts a missing file")
	}
	m, err := engine.Load(path, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}

func TestWriteRandomModelRejectsUnknownArchitecture(t *testing.T) {
	err := WriteRandomModel(filepath.Join(t.TempDir(), "m.gguf"), RandomModel{Shape: "tiny", Type: quant.I2_S, EmbedType: quant.F16, Arch: "llama"})
	if !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("err %v, want ErrInvalidArgument", err)
	}
}

func TestDecodeBytesCountsLinearLayersHeadAndOneEmbeddingRow(t *testing.T) {
	path := tinyModel(t, RandomModel{Shape: "tiny", Type: quant.TQ2_0, EmbedType: quant.F16, Seed: 1})
	m, err := engine.Load(path, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h := convert.Shapes["tiny"]
	kv := h.KVHeads * h.Dim / h.Heads
	weights := uint64(h.Layers * (2*h.Dim*h.Dim + 2*kv*h.Dim + 3*h.Dim*h.FFN))
	tb := DecodeBytes(m)
	if tb.LinearElements != weights {
		t.Errorf("linear weights %d, want %d", tb.LinearElements, weights)
	}
	// TQ2_0: 66 bytes per block of 256 weights.
	if want := weights / 256 * 66; tb.Linear != want {
		t.Errorf("linear bytes %d, want %d", tb.Linear, want)
	}
	if want := uint64(h.Vocab * h.Dim * 2); tb.Head != want || !tb.HeadTied || tb.HeadType != "F16" {
		t.Errorf("head %d bytes (%s, tied %v), want %d F16 tied", tb.Head, tb.HeadType, tb.HeadTied, want)
	}
	if want := uint64(h.Dim * 2); tb.EmbedRow != want {
		t.Errorf("embedding row %d bytes, want %d", tb.EmbedRow, want)
	}
	if tb.Total != tb.Linear+tb.Head+tb.EmbedRow {
		t.Errorf("total %d is not the sum of its parts", tb.Total)
	}
}

func TestRunMeasuresEveryConfigurationAndTest(t *testing.T) {
	path := tinyModel(t, RandomModel{Shape: "tiny", Type: quant.I2_S, EmbedType: quant.F16, Seed: 1})
	cfg := Config{Model: path, Prompts: []int{4, 8}, Gen: 3, GenPrompt: 2, Threads: []int{1, 2}, Kernels: []string{"go", ""}, Reps: 2}
	info, res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != path || info.Decode.Total == 0 || info.Hyper.Dim != convert.Shapes["tiny"].Dim {
		t.Errorf("model info %+v", info)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4 (2 kernels x 2 thread counts)", len(res))
	}
	if res[0].Kernels != "go" || res[1].Threads != 2 {
		t.Errorf("results out of order: %s/%d, %s/%d", res[0].Kernels, res[0].Threads, res[1].Kernels, res[1].Threads)
	}
	for _, r := range res {
		names := []string{}
		for _, tt := range r.Tests {
			names = append(names, tt.Name)
			if tt.TokensPerSecond.N != 2 || !(tt.TokensPerSecond.Min > 0) || !(tt.MsPerToken > 0) {
				t.Errorf("%s/%d %s: %+v", r.Kernels, r.Threads, tt.Name, tt)
			}
		}
		if len(names) != 3 || names[0] != "pp4" || names[1] != "pp8" || names[2] != "tg3" {
			t.Errorf("tests %v, want [pp4 pp8 tg3]", names)
		}
		if r.TTFTMs == nil || !(r.TTFTMs.Median > 0) || r.LoadMs.N != 2 || r.Context < 8 {
			t.Errorf("%s/%d: ttft %v, load %+v, context %d", r.Kernels, r.Threads, r.TTFTMs, r.LoadMs, r.Context)
		}
	}
}

func TestRunRejectsEmptyConfiguration(t *testing.T) {
	for _, cfg := range []Config{
		{Model: "x", Threads: []int{1}, Kernels: []string{""}},
		{Model: "x", Reps: 1, Kernels: []string{""}},
		{Model: "x", Reps: 1, Threads: []int{1}, Kernels: []string{""}, Prompts: []int{0}},
	} {
		if _, _, err := Run(context.Background(), cfg); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%+v: err %v, want ErrInvalidArgument", cfg, err)
		}
	}
}

func TestApplyFloorDividesBytesByBandwidthOfSameThreadCount(t *testing.T) {
	r := Report{
		Bandwidth: []Bandwidth{{Threads: 1, GBps: 10}, {Threads: 2, GBps: 20}},
		Model:     ModelInfo{Decode: TokenBytes{Total: 100e6}},
		Results: []Result{
			{Threads: 1, Tests: []Test{{Name: "pp8", NPrompt: 8, MsPerToken: 1}, {Name: "tg4", NGen: 4, MsPerToken: 20}}},
			{Threads: 2, Tests: []Test{{Name: "tg4", NGen: 4, MsPerToken: 10}}},
			{Threads: 3, Tests: []Test{{Name: "tg4", NGen: 4, MsPerToken: 10}}},
		},
	}
	r.ApplyFloor()
	if f := r.Results[0].Tests[0].FloorMsPerToken; f != 0 {
		t.Errorf("prefill test got a floor %v", f)
	}
	if tt := r.Results[0].Tests[1]; math.Abs(tt.FloorMsPerToken-10) > 1e-9 || math.Abs(tt.FloorFraction-0.5) > 1e-9 {
		t.Errorf("1 thread: floor %v ms, fraction %v; want 10, 0.5", tt.FloorMsPerToken, tt.FloorFraction)
	}
	if tt := r.Results[1].Tests[0]; math.Abs(tt.FloorMsPerToken-5) > 1e-9 || math.Abs(tt.FloorFraction-0.5) > 1e-9 {
		t.Errorf("2 threads: floor %v ms, fraction %v; want 5, 0.5", tt.FloorMsPerToken, tt.FloorFraction)
	}
	if f := r.Results[2].Tests[0].FloorMsPerToken; f != 0 {
		t.Errorf("3 threads has no bandwidth figure but got a floor %v", f)
	}
}
