// Package bench measures the engine the way llama.cpp's llama-bench does:
// prompt processing (ppN: N random tokens evaluated in one Forward in a
// fresh session), text generation (tgN: N tokens decoded one at a time,
// greedily, after a short untimed prompt), time to first token, load time
// and memory, each as the median, minimum and maximum of several
// repetitions, at each thread count and kernel implementation asked for;
// and it measures the machine's memory read bandwidth, which bounds the
// decode speed from below (every weight is read once per token).
package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
)

// Config is what Run measures.
type Config struct {
	// Model is the path of the GGUF file.
	Model string
	// Prompts are the prompt lengths of the ppN tests (none: no prefill
	// test). The first one also gives the time to first token.
	Prompts []int
	// Gen is the number of tokens of the tgN test (0: none).
	Gen int
	// GenPrompt is the length of the untimed prompt before the tgN test
	// (at least 1).
	GenPrompt int
	// Threads are the thread counts to measure (each loads the model).
	Threads []int
	// Kernels are the kernel implementations to measure ("" is the
	// engine's default).
	Kernels []string
	// Reps is the number of measured repetitions of each figure.
	Reps int
	// Cold drops the page cache before each load (needs root), and then
	// also times the first prompt after the load.
	Cold bool
	// Seed seeds the random token ids.
	Seed uint64
	// Progress, when not nil, receives one line per measurement.
	Progress io.Writer
}

// Test is one throughput figure of one configuration.
type Test struct {
	// Name is "pp<N>" or "tg<N>".
	Name    string `json:"name"`
	NPrompt int    `json:"n_prompt"`
	NGen    int    `json:"n_gen"`
	// TokensPerSecond: prompt tokens per second of the Forward call (pp),
	// or generated tokens per second of the decode loop (tg).
	TokensPerSecond Stats `json:"tokens_per_second"`
	// MsPerToken is 1000 / the median of TokensPerSecond.
	MsPerToken float64 `json:"ms_per_token"`
	// Int8GOPS (pp) is the multiply-adds of the linear layers, counted as
	// two operations each, per second, in units of 1e9.
	Int8GOPS float64 `json:"linear_gops,omitempty"`
	// WeightGBps (tg) is the weight bytes read per token times the median
	// tokens per second, in 1e9 bytes per second.
	WeightGBps float64 `json:"weight_gb_per_second,omitempty"`
	// FloorMsPerToken (tg) is the weight bytes per token over the memory
	// bandwidth measured at the same thread count; FloorFraction is the
	// floor over the measured median time per token (1 = at the limit).
	FloorMsPerToken float64 `json:"floor_ms_per_token,omitempty"`
	FloorFraction   float64 `json:"floor_fraction,omitempty"`
}

// Result holds the figures of one (kernels, threads) configuration.
type Result struct {
	Kernels string `json:"kernels"`
	Threads int    `json:"threads"`
	// LoadMs is the time of engine.Load (warm page cache unless Cold).
	LoadMs Stats `json:"load_ms"`
	Cold   bool  `json:"cold"`
	// FirstPromptColdMs (Cold only) is the time to first token of the
	// first prompt after each cold load.
	FirstPromptColdMs *Stats `json:"ttft_cold_ms,omitempty"`
	// TTFTMs is the time to first token of a prompt of Prompts[0] tokens
	// in a fresh session: its Forward and the argmax of the logits.
	TTFTMs *Stats `json:"ttft_ms,omitempty"`
	Tests  []Test `json:"tests"`
	// RSSAfterLoad and RSS are the resident set sizes after the load and
	// after the tests; PeakRSS the highest since just before the load
	// (PeakScope says "config" when the peak could be reset before the
	// load, "process" when it is the whole process's).
	RSSAfterLoad uint64 `json:"rss_after_load_bytes"`
	RSS          uint64 `json:"rss_bytes"`
	PeakRSS      uint64 `json:"peak_rss_bytes"`
	PeakScope    string `json:"peak_rss_scope"`
	// MaxRSS is getrusage's ru_maxrss: the peak of the whole process so
	// far (earlier configurations and writing a random model included).
	MaxRSS uint64 `json:"max_rss_process_bytes"`
	// Context is the session context length used.
	Context int `json:"context_length"`
}

// ModelInfo describes the benchmarked model.
type ModelInfo struct {
	Path         string             `json:"path"`
	Name         string             `json:"name"`
	Architecture string             `json:"architecture"`
	FileSize     uint64             `json:"file_size"`
	Parameters   uint64             `json:"parameters"`
	WeightType   string             `json:"weight_type"`
	BitsPerWt    float64            `json:"bits_per_weight"`
	TensorTypes  map[string]int     `json:"tensor_types"`
	Hyper        engine.Hyperparams `json:"hyperparameters"`
	Decode       TokenBytes         `json:"decode_bytes_per_token"`
	Random       *RandomModel       `json:"random,omitempty"`
}

// Run loads the model once per (kernels, threads) pair and measures it.
func Run(ctx context.Context, cfg Config) (ModelInfo, []Result, error) {
	if cfg.Reps < 1 || len(cfg.Threads) == 0 || len(cfg.Kernels) == 0 || cfg.Gen < 0 {
		return ModelInfo{}, nil, fmt.Errorf("bench: need reps >= 1, a thread count and a kernel choice: %w", errs.ErrInvalidArgument)
	}
	for _, p := range cfg.Prompts {
		if p < 1 {
			return ModelInfo{}, nil, fmt.Errorf("bench: prompt length %d: %w", p, errs.ErrInvalidArgument)
		}
	}
	cfg.GenPrompt = max(cfg.GenPrompt, 1)
	var info ModelInfo
	var out []Result
	for _, k := range cfg.Kernels {
		for _, t := range cfg.Threads {
			if err := ctx.Err(); err != nil {
				return info, out, fmt.Errorf("bench: %w", errs.ErrCanceled)
			}
			r, mi, err := runOne(ctx, cfg, k, t)
			if err != nil {
				return info, out, err
			}
			if info.Path == "" {
				info = mi
			}
			out = append(out, r)
		}
	}
	return info, out, nil
}

// contextFor is the session length the tests need.
func contextFor(cfg Config) int {
	n := max(cfg.GenPrompt+cfg.Gen, warmupTokens+warmupSteps)
	for _, p := range cfg.Prompts {
		n = max(n, p)
	}
	return n
}

const (
	warmupTokens = 16
	warmupSteps  = 2
)

func (c Config) logf(format string, a ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", a...)
	}
}

// runOne measures one configuration.
func runOne(ctx context.Context, cfg Config, kern string, threads int) (Result, ModelInfo, error) {
	r := Result{Threads: threads, Cold: cfg.Cold, Context: contextFor(cfg), PeakScope: "process"}
	opts := engine.Options{Threads: threads, ContextLength: r.Context, Kernels: kern}
	runtime.GC()
	debug.FreeOSMemory()
	if ResetPeakRSS() {
		r.PeakScope = "config"
	}
	var loads, cold []float64
	var m *engine.Model
	for rep := range cfg.Reps {
		if cfg.Cold {
			if err := DropPageCache(); err != nil {
				return r, ModelInfo{}, fmt.Errorf("bench --cold: drop the page cache: %v: %w", err, errs.ErrUnsupported)
			}
		}
		t0 := time.Now()
		mm, err := engine.Load(cfg.Model, opts)
		if err != nil {
			return r, ModelInfo{}, err
		}
		loads = append(loads, ms(time.Since(t0)))
		if cfg.Cold && len(cfg.Prompts) > 0 {
			d, _, err := prompt(mm, tokens(mm, cfg.Seed, 1000+uint64(rep), cfg.Prompts[0]))
			if err != nil {
				mm.Close()
				return r, ModelInfo{}, err
			}
			cold = append(cold, ms(d))
		}
		cfg.logf("%s t=%d load %d/%d: %.1f ms", mm.Info.Backend, threads, rep+1, cfg.Reps, loads[len(loads)-1])
		if rep < cfg.Reps-1 {
			mm.Close()
		} else {
			m = mm
		}
	}
	defer m.Close()
	r.Kernels = m.Info.Backend
	r.LoadMs = Summarize(loads)
	if cfg.Cold && len(cold) > 0 {
		s := Summarize(cold)
		r.FirstPromptColdMs = &s
	}
	r.RSSAfterLoad = CurrentRSS()
	mi := describeModel(m)

	if err := warmup(m); err != nil {
		return r, mi, err
	}
	linear := float64(mi.Decode.LinearElements)
	for i, p := range cfg.Prompts {
		var tps, ttft []float64
		for rep := range cfg.Reps {
			if err := ctx.Err(); err != nil {
				return r, mi, fmt.Errorf("bench: %w", errs.ErrCanceled)
			}
			fwd, first, err := prompt(m, tokens(m, cfg.Seed, uint64(i*100+rep), p))
			if err != nil {
				return r, mi, err
			}
			tps = append(tps, float64(p)/fwd.Seconds())
			ttft = append(ttft, ms(first))
			cfg.logf("%s t=%d pp%d %d/%d: %.2f t/s", r.Kernels, threads, p, rep+1, cfg.Reps, tps[len(tps)-1])
		}
		t := Test{Name: fmt.Sprintf("pp%d", p), NPrompt: p, TokensPerSecond: Summarize(tps)}
		t.MsPerToken = 1000 / t.TokensPerSecond.Median
		t.Int8GOPS = 2 * linear * t.TokensPerSecond.Median / 1e9
		r.Tests = append(r.Tests, t)
		if i == 0 {
			s := Summarize(ttft)
			r.TTFTMs = &s
		}
	}
	if cfg.Gen > 0 {
		var tps []float64
		for rep := range cfg.Reps {
			if err := ctx.Err(); err != nil {
				return r, mi, fmt.Errorf("bench: %w", errs.ErrCanceled)
			}
			d, err := generate(m, tokens(m, cfg.Seed, 900+uint64(rep), cfg.GenPrompt), cfg.Gen)
			if err != nil {
				return r, mi, err
			}
			tps = append(tps, float64(cfg.Gen)/d.Seconds())
			cfg.logf("%s t=%d tg%d %d/%d: %.2f t/s", r.Kernels, threads, cfg.Gen, rep+1, cfg.Reps, tps[len(tps)-1])
		}
		t := Test{Name: fmt.Sprintf("tg%d", cfg.Gen), NPrompt: cfg.GenPrompt, NGen: cfg.Gen, TokensPerSecond: Summarize(tps)}
		t.MsPerToken = 1000 / t.TokensPerSecond.Median
		t.WeightGBps = float64(mi.Decode.Total) * t.TokensPerSecond.Median / 1e9
		r.Tests = append(r.Tests, t)
	}
	r.RSS = CurrentRSS()
	r.MaxRSS = MaxRSS()
	if r.PeakRSS = PeakRSS(); r.PeakRSS == 0 || r.PeakScope == "process" {
		r.PeakRSS = max(r.PeakRSS, r.MaxRSS)
	}
	return r, mi, nil
}

func describeModel(m *engine.Model) ModelInfo {
	return ModelInfo{Path: m.Info.Path, Name: m.Info.Name, Architecture: m.Info.Architecture, FileSize: m.Info.FileSize,
		Parameters: m.Info.Parameters, WeightType: m.Info.WeightType, BitsPerWt: m.Info.BitsPerWeight,
		TensorTypes: m.Info.TensorTypes, Hyper: m.Hyper, Decode: DecodeBytes(m)}
}

// tokens returns n random valid token ids of m's vocabulary.
func tokens(m *engine.Model, seed, stream uint64, n int) []int32 {
	rng := rand.New(rand.NewPCG(seed, stream))
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(m.Hyper.Vocab))
	}
	return ids
}

// warmup runs a short prompt and two decode steps, so that the weights
// are mapped in and the worker threads are up before the first timing.
func warmup(m *engine.Model) error {
	_, err := generate(m, tokens(m, 0, 0, warmupTokens), warmupSteps)
	return err
}

// prompt evaluates ids in a fresh session and returns the time of the
// Forward call and the time until the first token was chosen (Forward and
// the argmax of its logits).
func prompt(m *engine.Model, ids []int32) (fwd, first time.Duration, err error) {
	s, err := m.NewSession()
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	logits, err := s.Forward(ids, false)
	if err != nil {
		return 0, 0, err
	}
	fwd = time.Since(t0)
	_ = argmax(logits)
	return fwd, time.Since(t0), nil
}

// generate evaluates prompt in a fresh session (untimed) and then decodes
// n tokens greedily, one Forward of one token each, and returns the time
// of the n steps.
func generate(m *engine.Model, prompt []int32, n int) (time.Duration, error) {
	s, err := m.NewSession()
	if err != nil {
		return 0, err
	}
	logits, err := s.Forward(prompt, false)
	if err != nil {
		return 0, err
	}
	tok := argmax(logits)
	t0 := time.Now()
	for range n {
		if logits, err = s.Forward([]int32{tok}, false); err != nil {
			return 0, err
		}
		tok = argmax(logits)
	}
	return time.Since(t0), nil
}

// argmax is the index of the largest logit (greedy sampling).
func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
