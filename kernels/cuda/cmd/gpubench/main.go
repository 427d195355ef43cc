// Command gpubench measures the CUDA backend on the machine's first GPU
// and prints a report (scripts/gpu_check.sh runs it on a GPU machine that
// has no Go toolchain, from a binary built by `make gpucheck`):
//
//   - memory bandwidth (read pass and device-to-device copy);
//   - per-kernel device time from CUDA-graph replay: the ternary GEMV of
//     the BitNet b1.58 2B-4T shapes (hot: weights in L2; cold: streamed
//     from memory), the F16 output head, the prefill GEMM, and the other
//     kernels of a decode step; with -torch, the PyTorch bf16 baseline of
//     the same shapes measured on the same card (scripts/torch_baseline.py)
//     and the ratios;
//   - end to end on a random model of the 2B-4T shape (I2_S weights, F16
//     embedding, written here to a temporary file): load time, prefill
//     pp128 / pp512, decode tg128 (greedy on the device through the
//     captured decode step, and with the logits copied to the host each
//     step), the byte floor of a decode step, and a check that the GPU's
//     greedy tokens are the CPU engine's.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
	"github.com/bitnet-dev/bitnet/quant"
	"github.com/bitnet-dev/bitnet/sampling"
)

// shapes are the ternary matrices of BitNet b1.58 2B-4T (rows x cols):
// q/o, fused q+k+v, fused gate+up, down.
var shapes = [][2]int{{2560, 2560}, {3840, 2560}, {13824, 2560}, {2560, 6912}}

func main() {
	kern := flag.Bool("kernels", true, "run the kernel benchmarks")
	e2e := flag.Bool("e2e", true, "run the end-to-end benchmark on a random 2B-4T model")
	cpuCheck := flag.Int("cpu-check", 24, "greedy tokens compared with the CPU engine (0: skip)")
	torch := flag.String("torch", "", "JSON of scripts/torch_baseline.py for the ratios")
	dev := flag.Int("device", 0, "CUDA device index")
	flag.Parse()
	fmt.Printf("gpubench: %s, %d CPUs\n", runtime.Version(), runtime.NumCPU())
	ok := true
	var readGBs float64
	if *kern {
		var err error
		if readGBs, err = kernelBench(*dev, *torch); err != nil {
			fmt.Printf("KERNELS FAILED: %v\n", err)
			ok = false
		}
	}
	if *e2e {
		if err := endToEnd(*dev, readGBs, *cpuCheck); err != nil {
			fmt.Printf("END-TO-END FAILED: %v\n", err)
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
}

// torchBaseline is what scripts/torch_baseline.py writes.
type torchBaseline struct {
	Device string `json:"device"`
	Torch  string `json:"torch"`
	GEMV   map[string]struct {
		Hot  float64 `json:"hot_us"`
		Cold float64 `json:"cold_us"`
	} `json:"gemv"`
	CopyGBs float64 `json:"copy_gbs"`
}

func kernelBench(dev int, torchFile string) (float64, error) {
	b, err := cuda.NewBench(dev)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	info := b.Info()
	fmt.Printf("\n== device %d: %s, compute %d.%d, %d SMs, %.1f GiB, L2 %d MiB, driver %d\n", dev, info.Name,
		info.ComputeMajor, info.ComputeMinor, info.Multiprocessors, float64(info.TotalMemory)/(1<<30),
		info.L2CacheBytes>>20, info.DriverVersion)
	nominal := 0.0
	if info.MemoryClockKHz > 0 && info.MemoryBusWidth > 0 {
		nominal = 2 * float64(info.MemoryClockKHz) * 1e3 * float64(info.MemoryBusWidth) / 8 / 1e9
	}
	read, cp, err := b.Bandwidth(1 << 30)
	if err != nil {
		return 0, fmt.Errorf("bandwidth: %w", err)
	}
	fmt.Printf("memory bandwidth: read %.0f GB/s, device-to-device copy %.0f GB/s (read+write), nominal %.0f GB/s\n", read, cp, nominal)

	var tb *torchBaseline
	if torchFile != "" {
		if data, err := os.ReadFile(torchFile); err != nil {
			fmt.Printf("(no PyTorch baseline: %v)\n", err)
		} else if err := json.Unmarshal(data, &tb); err != nil {
			fmt.Printf("(PyTorch baseline unreadable: %v)\n", err)
			tb = nil
		} else {
			fmt.Printf("PyTorch baseline: torch %s on %s, copy %.0f GB/s\n", tb.Torch, tb.Device, tb.CopyGBs)
		}
	}
	fmt.Println("\nternary GEMV, one token (tern_mv; device time per call from CUDA-graph replay)")
	fmt.Printf("%-12s %9s %-44s %-44s %8s %9s %9s %8s %8s\n", "shape", "KiB", "hot (same weights)", "cold (streamed)", "GB/s", "torch hot", "torch cold", "x hot", "x cold")
	for _, sh := range shapes {
		hot, cold, bytes, err := b.TernaryGEMV(sh[0], sh[1])
		if err != nil {
			return read, fmt.Errorf("tern_mv %dx%d: %w", sh[0], sh[1], err)
		}
		key := fmt.Sprintf("%dx%d", sh[0], sh[1])
		line := fmt.Sprintf("%-12s %9.0f %-44s %-44s %8.0f", key, float64(bytes)/1024, hot, cold, float64(bytes)/cold.Median/1e3)
		if tb != nil {
			if t, ok := tb.GEMV[key]; ok {
				line += fmt.Sprintf(" %9.2f %9.2f %7.2fx %7.2fx", t.Hot, t.Cold, t.Hot/hot.Median, t.Cold/cold.Median)
			}
		}
		fmt.Println(line)
	}
	head, bytes, err := b.HeadF16(128256, 2560)
	if err != nil {
		return read, fmt.Errorf("head: %w", err)
	}
	line := fmt.Sprintf("F16 head 128256x2560 (matmul_f16, cold): %s, %.0f GB/s", head, float64(bytes)/head.Median/1e3)
	if tb != nil {
		if t, ok := tb.GEMV["128256x2560"]; ok {
			line += fmt.Sprintf("; torch bf16 %.2f us (%.2fx)", t.Cold, t.Cold/head.Median)
		}
	}
	fmt.Println(line)
	fmt.Println("\nternary GEMM, prefill (tern_mm, int8 dp4a)")
	for _, c := range [][3]int{{2560, 2560, 128}, {13824, 2560, 128}, {2560, 6912, 512}} {
		t, err := b.TernaryGEMM(c[0], c[1], c[2])
		if err != nil {
			return read, fmt.Errorf("tern_mm: %w", err)
		}
		ops := 2 * float64(c[0]) * float64(c[1]) * float64(c[2])
		fmt.Printf("%dx%d, %d tokens: %s, %.1f int8 TOPS\n", c[0], c[1], c[2], t, ops/t.Median/1e6)
	}
	fmt.Println("\nother decode-step kernels (2B-4T shape)")
	for _, pos := range []int{128, 1024} {
		res, err := b.StepKernels(2560, 6912, 20, 5, 128, 128256, pos)
		if err != nil {
			return read, fmt.Errorf("step kernels: %w", err)
		}
		names := make([]string, 0, len(res))
		for n := range res {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if pos != 128 && !strings.HasPrefix(n, "attend") {
				continue
			}
			fmt.Printf("  %-24s %s\n", n, res[n])
		}
	}
	return read, nil
}

// writeRandom2B4T writes a random model of the 2B-4T shape (I2_S, F16
// embedding) to a temporary file, filling the tensors in parallel (the
// converter's writer fills them one goroutine at a time). The metadata
// and tokenizer are convert.Random's.
func writeRandom2B4T() (string, error) {
	ref, err := convert.Random("2b4t", 1, convert.Options{Type: quant.I2_S})
	if err != nil {
		return "", err
	}
	w := gguf.NewWriter()
	for _, kv := range ref.Metadata.Entries() {
		w.Metadata.Set(kv.Key, kv.Value)
	}
	h := convert.Shapes["2b4t"]
	kv := h.KVHeads * (h.Dim / h.Heads)
	add := func(name string, t quant.Type, cols, rows int, fill func([]byte)) error {
		dims := []uint64{uint64(cols)}
		if rows > 0 {
			dims = append(dims, uint64(rows))
		}
		return w.AddTensorFunc(name, t, dims, func(dst []byte) error { fill(dst); return nil })
	}
	ones := func(dst []byte) {
		for i := 0; i+4 <= len(dst); i += 4 {
			copy(dst[i:], []byte{0, 0, 0x80, 0x3f})
		}
	}
	if err := add("token_embd.weight", quant.F16, h.Dim, h.Vocab, fillF16); err != nil {
		return "", err
	}
	if err := add("output_norm.weight", quant.F32, h.Dim, 0, ones); err != nil {
		return "", err
	}
	seed := uint64(0)
	for l := 0; l < h.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		for _, v := range []struct {
			name string
			n    int
		}{{"attn_norm", h.Dim}, {"ffn_norm", h.Dim}, {"attn_sub_norm", h.Dim}, {"ffn_sub_norm", h.FFN}} {
			if err := add(p+v.name+".weight", quant.F32, v.n, 0, ones); err != nil {
				return "", err
			}
		}
		for _, m := range []struct {
			name       string
			rows, cols int
		}{{"attn_q", h.Dim, h.Dim}, {"attn_k", kv, h.Dim}, {"attn_v", kv, h.Dim}, {"attn_output", h.Dim, h.Dim},
			{"ffn_gate", h.FFN, h.Dim}, {"ffn_up", h.FFN, h.Dim}, {"ffn_down", h.Dim, h.FFN}} {
			seed++
			s := seed
			if err := add(p+m.name+".weight", quant.I2_S, m.cols, m.rows, func(dst []byte) { fillI2S(dst, s) }); err != nil {
				return "", err
			}
		}
	}
	dir := "/dev/shm"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "gpubench-2b4t-*.gguf")
	if err != nil {
		return "", err
	}
	_, werr := w.WriteTo(f)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return "", werr
	}
	return f.Name(), nil
}

// parallel runs f over [0, n) in chunks on every CPU.
func parallel(n int, f func(lo, hi int, r *rand.Rand)) {
	workers := runtime.NumCPU()
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for i, lo := 0, 0; lo < n; i, lo = i+1, lo+per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi, rand.New(rand.NewPCG(uint64(i), uint64(lo))))
		}()
	}
	wg.Wait()
}

// fillF16 writes random F16 values (normal, sd 0.02) from a table.
func fillF16(dst []byte) {
	var table [4096]uint16
	r := rand.New(rand.NewPCG(9, 9))
	vals := make([]float32, len(table))
	for i := range vals {
		vals[i] = float32(r.NormFloat64() * 0.02)
	}
	tb := make([]byte, 2*len(table))
	_ = quant.Quantize(quant.F16, vals, tb)
	for i := range table {
		table[i] = uint16(tb[2*i]) | uint16(tb[2*i+1])<<8
	}
	parallel(len(dst)/2, func(lo, hi int, r *rand.Rand) {
		for i := lo; i < hi; i++ {
			v := table[r.Uint32()&4095]
			dst[2*i], dst[2*i+1] = byte(v), byte(v>>8)
		}
	})
}

// fillI2S writes random ternary codes (code 3 folded to 1) and a scale in
// the tail.
func fillI2S(dst []byte, seed uint64) {
	codes := len(dst) - quant.I2STail
	parallel(codes/8, func(lo, hi int, r *rand.Rand) {
		r = rand.New(rand.NewPCG(seed, uint64(lo)))
		for i := lo; i < hi; i++ {
			x := r.Uint64()
			both := (x >> 1) & x & 0x5555555555555555
			x ^= both << 1
			for k := 0; k < 8; k++ {
				dst[8*i+k] = byte(x >> (8 * k))
			}
		}
	})
	bits := math.Float32bits(0.5 + float32(seed%7)/7)
	for k := 0; k < 4; k++ {
		dst[codes+k] = byte(bits >> (8 * k))
	}
}

func median(v []float64) (med, lo, hi float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2], s[0], s[len(s)-1]
}

func endToEnd(dev int, readGBs float64, cpuCheck int) error {
	fmt.Println("\n== end to end: random BitNet b1.58 2B-4T shape (I2_S weights, F16 tied embedding)")
	t0 := time.Now()
	path, err := writeRandom2B4T()
	if err != nil {
		return fmt.Errorf("write the random model: %w", err)
	}
	defer os.Remove(path)
	st, _ := os.Stat(path)
	fmt.Printf("wrote %s (%.2f GB) in %.1f s\n", filepath.Base(path), float64(st.Size())/1e9, time.Since(t0).Seconds())

	t0 = time.Now()
	gm, err := engine.Load(path, engine.Options{Device: engine.Device{Kind: engine.DeviceCUDA, Index: dev}})
	if err != nil {
		return fmt.Errorf("load on the GPU: %w", err)
	}
	defer gm.Close()
	g := gm.GPU()
	fmt.Printf("load on cuda:%d (mapped file, repack, upload): %.2f s; %.2f GB of weights on the device\n", dev,
		time.Since(t0).Seconds(), float64(g.WeightBytes())/1e9)

	r := rand.New(rand.NewPCG(5, 5))
	prompt := func(n int) []int32 {
		p := make([]int32, n)
		for i := range p {
			p[i] = int32(300 + r.IntN(gm.Hyper.Vocab-300))
		}
		return p
	}
	s, err := gm.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	for _, n := range []int{128, 512} {
		p := prompt(n)
		var rates []float64
		for rep := 0; rep < 4; rep++ {
			s.Reset()
			t := time.Now()
			if _, err := s.Forward(p, false); err != nil {
				return fmt.Errorf("prefill %d: %w", n, err)
			}
			if rep > 0 { // the first run warms up
				rates = append(rates, float64(n)/time.Since(t).Seconds())
			}
		}
		m, lo, hi := median(rates)
		fmt.Printf("pp%d: %.0f tokens/s (min %.0f, max %.0f)\n", n, m, lo, hi)
	}

	// Decode: 128 tokens after an 8-token prompt.
	p8 := prompt(8)
	s.Reset()
	if _, err := s.Forward(p8, false); err != nil {
		return err
	}
	var dev128 []float64
	var devTokens []int32
	for rep := 0; rep < 4; rep++ {
		if err := s.Truncate(8); err != nil {
			return err
		}
		t := time.Now()
		toks, err := s.GreedyOnDevice(128)
		if err != nil {
			return fmt.Errorf("greedy on device: %w", err)
		}
		if rep > 0 {
			dev128 = append(dev128, 128/time.Since(t).Seconds())
		}
		devTokens = toks
	}
	m, lo, hi := median(dev128)
	fmt.Printf("tg128, greedy on the device (CUDA graph per step, argmax on the GPU): %.0f tokens/s (min %.0f, max %.0f) = %.3f ms/token\n", m, lo, hi, 1000/m)

	cfg := sampling.DefaultConfig()
	cfg.Temperature = 0
	var host128 []float64
	var hostTokens []int32
	for rep := 0; rep < 3; rep++ {
		s.Reset()
		res, err := s.Generate(context.Background(), p8, engine.GenerateOptions{MaxNewTokens: 128, Sampling: cfg, IgnoreEOS: true}, nil)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		host128 = append(host128, res.Timing.DecodeTokensPerSecond())
		hostTokens = res.Tokens
	}
	m2, lo2, hi2 := median(host128)
	fmt.Printf("tg128 through Generate (logits to the host each step, greedy sampler): %.0f tokens/s (min %.0f, max %.0f)\n", m2, lo2, hi2)
	if !slices.Equal(devTokens, hostTokens) {
		fmt.Printf("MISMATCH: on-device greedy tokens differ from the host loop's at token %d\n", firstDiff(devTokens, hostTokens))
	} else {
		fmt.Println("on-device greedy tokens = host-loop greedy tokens (128)")
	}

	bytes := g.StreamedBytesPerToken()
	fmt.Printf("bytes streamed per decode step: %.1f MB (ternary matrices at 2 bits + F16 head)\n", float64(bytes)/1e6)
	if readGBs > 0 {
		floor := float64(bytes) / (readGBs * 1e9)
		fmt.Printf("byte floor at the measured %.0f GB/s: %.3f ms/token = %.0f tokens/s; on-device decode reaches %.0f%% of it\n",
			readGBs, floor*1e3, 1/floor, 100*m*floor)
	}

	if cpuCheck > 0 {
		t0 = time.Now()
		cm, err := engine.Load(path, engine.Options{Device: engine.Device{Kind: engine.DeviceCPU}})
		if err != nil {
			return fmt.Errorf("load on the CPU: %w", err)
		}
		defer cm.Close()
		cs, err := cm.NewSession()
		if err != nil {
			return err
		}
		res, err := cs.Generate(context.Background(), p8, engine.GenerateOptions{MaxNewTokens: cpuCheck, Sampling: cfg, IgnoreEOS: true}, nil)
		if err != nil {
			return fmt.Errorf("CPU generate: %w", err)
		}
		n := min(cpuCheck, len(hostTokens))
		if slices.Equal(res.Tokens[:n], hostTokens[:n]) {
			fmt.Printf("GPU greedy tokens = CPU engine's (%d tokens, %s kernels; CPU decode %.1f tokens/s, %.1f s)\n", n,
				cm.Backend().Name(), res.Timing.DecodeTokensPerSecond(), time.Since(t0).Seconds())
		} else {
			i := firstDiff(res.Tokens[:n], hostTokens[:n])
			fmt.Printf("MISMATCH: GPU greedy tokens differ from the CPU engine's at token %d of %d\nGPU %v\nCPU %v\n", i, n, hostTokens[:n], res.Tokens[:n])
			return fmt.Errorf("GPU and CPU greedy tokens differ")
		}
	}
	return nil
}

func firstDiff(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
