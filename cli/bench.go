package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bitnet-dev/bitnet/bench"
	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/quant"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "(--model FILE | --random SHAPE) [flags]", `
Measure the engine like llama.cpp's llama-bench: prompt processing (ppN:
N random token ids evaluated in one forward pass in a fresh session), text
generation (tgN: N tokens decoded one at a time, greedily, after a short
untimed prompt), time to first token, load time and memory, at each thread
count and kernel implementation, as the median, minimum and maximum of
--reps runs. It also measures the memory read bandwidth and reports the
decode floor: the bytes every token reads (linear layers, output head, one
embedding row) over that bandwidth.

With --random SHAPE (`+strings.Join(convert.ShapeNames(), ", ")+`) a model of random ternary weights is
written to a temporary file (or to --keep FILE, reused when it already
holds the same model) and benchmarked; no download is needed.`, stderr)
	model := fs.String("model", "", "path of the model file (GGUF)")
	random := fs.String("random", "", "benchmark a random model of this shape: "+strings.Join(convert.ShapeNames(), ", "))
	typ := fs.String("type", "i2_s", "--random: type of the linear layers (i2_s, tq2_0, tq1_0)")
	embed := fs.String("embed-type", "f16", "--random: type of the token embedding / output head (f16, q6_k, q8_0, ...)")
	arch := fs.String("arch", "", "--random: write the model as this architecture instead of the shape's: "+strings.Join(bench.RandomArchs, ", ")+
		" (bitnet: SiLU gate, what upstream llama.cpp runs)")
	seed := fs.Uint64("seed", 1, "seed of the random weights and of the random prompt tokens")
	keep := fs.String("keep", "", "--random: write the model to this file and keep it (reused if it already holds the same model)")
	prompts := fs.String("p", "128,512", "prompt lengths of the ppN tests, comma-separated (0: none)")
	gen := fs.Int("n", 128, "tokens of the tgN test (0: none)")
	genPrompt := fs.Int("gen-prompt", 1, "untimed prompt tokens before the tgN test")
	threads := fs.String("threads", defaultThreads(), "thread counts, comma-separated")
	reps := fs.Int("reps", 5, "measured repetitions of each figure")
	kern := fs.String("kernels", "", fmt.Sprintf("kernel implementations, comma-separated, from %v (default: the engine's choice)", kernels.Available()))
	cold := fs.Bool("cold", false, "drop the page cache before each load (needs root), and time the first prompt after it")
	bwMiB := fs.Int("bw-mib", 1024, "MiB read by the memory-bandwidth probe (0: no probe)")
	bwPasses := fs.Int("bw-passes", 5, "passes of the bandwidth probe (the best counts)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	out := fs.String("out", "", "also write the JSON report to this file")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected arguments %q", pos)
	}
	if (*model == "") == (*random == "") {
		return usageErr("give one of --model and --random")
	}
	cfg := bench.Config{Gen: *gen, GenPrompt: *genPrompt, Reps: *reps, Cold: *cold, Seed: *seed}
	if cfg.Prompts, err = intList(*prompts, 0); err != nil {
		return usageErr("-p: %v", err)
	}
	cfg.Prompts = slices.DeleteFunc(cfg.Prompts, func(p int) bool { return p == 0 })
	if cfg.Threads, err = intList(*threads, 1); err != nil || len(cfg.Threads) == 0 {
		return usageErr("--threads: want positive counts, got %q", *threads)
	}
	cfg.Kernels = []string{""}
	if *kern != "" {
		cfg.Kernels = strings.Split(*kern, ",")
		for _, k := range cfg.Kernels {
			if k != "auto" && !slices.Contains(kernels.Available(), k) {
				return usageErr("--kernels: %q is not available here (available: %v)", k, kernels.Available())
			}
		}
	}
	if *reps < 1 || *gen < 0 || *genPrompt < 1 || *bwMiB < 0 || *bwPasses < 1 {
		return usageErr("--reps, --gen-prompt and --bw-passes must be positive, -n and --bw-mib not negative")
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	var rm *bench.RandomModel
	if *random != "" {
		if rm, err = randomSpec(*random, *typ, *embed, *arch, *seed); err != nil {
			return err
		}
		path, cleanup, err := prepareRandom(*rm, *keep, stderr, *quiet)
		if err != nil {
			return err
		}
		defer cleanup()
		cfg.Model = path
	} else {
		cfg.Model = *model
	}

	rep := bench.Report{Tool: "bitnet bench", Version: Version, Time: time.Now().UTC().Format(time.RFC3339),
		Command: append([]string{"bitnet", "bench"}, args...), Machine: bench.DescribeMachine(), Config: cfg.Info()}
	info, results, err := bench.Run(context.Background(), cfg)
	if err != nil {
		return err
	}
	info.Random = rm
	rep.Model, rep.Results = info, results
	// The probe runs last, so its buffer does not count in the RSS figures.
	if *bwMiB > 0 {
		counts := slices.Clone(cfg.Threads)
		counts = append(counts, 1, runtime.NumCPU())
		slices.Sort(counts)
		if rep.Bandwidth, err = bench.ProbeBandwidth(int64(*bwMiB)<<20, *bwPasses, slices.Compact(counts)); err != nil {
			return err
		}
	}
	rep.ApplyFloor()
	js, err := json.MarshalIndent(&rep, "", "  ")
	if err != nil {
		return err
	}
	js = append(js, '\n')
	if *out != "" {
		if err := os.WriteFile(*out, js, 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		_, err = stdout.Write(js)
		return err
	}
	return rep.WriteText(stdout)
}

// defaultThreads is "1,<CPUs>" (just "1" on one CPU).
func defaultThreads() string {
	if n := runtime.NumCPU(); n > 1 {
		return "1," + strconv.Itoa(n)
	}
	return "1"
}

// intList parses comma-separated integers of at least lo.
func intList(s string, lo int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < lo {
			return nil, fmt.Errorf("%q is not an integer >= %d", f, lo)
		}
		out = append(out, n)
	}
	return out, nil
}

func randomSpec(shape, typ, embed, arch string, seed uint64) (*bench.RandomModel, error) {
	if _, ok := convert.Shapes[shape]; !ok {
		return nil, usageErr("--random: unknown shape %q (known: %s)", shape, strings.Join(convert.ShapeNames(), ", "))
	}
	t, err := quant.ParseType(typ)
	if err != nil || !convert.IsTernaryType(t) {
		return nil, usageErr("--type: want i2_s, tq2_0 or tq1_0, got %q", typ)
	}
	et, err := quant.ParseType(embed)
	if err != nil {
		return nil, usageErr("--embed-type: %v", err)
	}
	if arch != "" && !slices.Contains(bench.RandomArchs, arch) {
		return nil, usageErr("--arch: want one of %v, got %q", bench.RandomArchs, arch)
	}
	return &bench.RandomModel{Shape: shape, Type: t, EmbedType: et, Seed: seed, Arch: arch}, nil
}

// prepareRandom writes the random model (to keep, unless it already holds
// it, or to a temporary file removed by cleanup) and returns its path.
func prepareRandom(rm bench.RandomModel, keep string, stderr io.Writer, quiet bool) (string, func(), error) {
	noop := func() {}
	if keep != "" && bench.IsRandomModel(keep, rm) {
		if !quiet {
			fmt.Fprintf(stderr, "reusing %s\n", keep)
		}
		return keep, noop, nil
	}
	path, cleanup := keep, noop
	if keep == "" {
		f, err := os.CreateTemp("", "bitnet-bench-*.gguf")
		if err != nil {
			return "", noop, err
		}
		f.Close()
		path = f.Name()
		cleanup = func() { os.Remove(path) }
	}
	start := time.Now()
	if err := bench.WriteRandomModel(path, rm); err != nil {
		cleanup()
		return "", noop, err
	}
	if !quiet {
		fmt.Fprintf(stderr, "wrote random %s model to %s in %.1f s\n", rm.Shape, path, time.Since(start).Seconds())
	}
	return path, cleanup, nil
}
