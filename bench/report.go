package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is the whole outcome of a benchmark run (the JSON of `bitnet
// bench --json`).
type Report struct {
	Tool      string      `json:"tool"`
	Version   string      `json:"version"`
	Time      string      `json:"time"`
	Command   []string    `json:"command"`
	Machine   Machine     `json:"machine"`
	Bandwidth []Bandwidth `json:"memory_bandwidth"`
	Model     ModelInfo   `json:"model"`
	Config    ConfigInfo  `json:"config"`
	Results   []Result    `json:"results"`
}

// ConfigInfo is the part of Config a report records.
type ConfigInfo struct {
	Prompts   []int    `json:"prompts"`
	Gen       int      `json:"gen"`
	GenPrompt int      `json:"gen_prompt"`
	Threads   []int    `json:"threads"`
	Kernels   []string `json:"kernels"`
	Reps      int      `json:"reps"`
	Cold      bool     `json:"cold"`
	Seed      uint64   `json:"seed"`
}

// Info returns the recorded part of c.
func (c Config) Info() ConfigInfo {
	return ConfigInfo{Prompts: c.Prompts, Gen: c.Gen, GenPrompt: max(c.GenPrompt, 1), Threads: c.Threads,
		Kernels: c.Kernels, Reps: c.Reps, Cold: c.Cold, Seed: c.Seed}
}

// BandwidthAt returns the probe result measured with threads threads
// (false if none was).
func (r *Report) BandwidthAt(threads int) (Bandwidth, bool) {
	for _, b := range r.Bandwidth {
		if b.Threads == threads {
			return b, true
		}
	}
	return Bandwidth{}, false
}

// ApplyFloor fills in the decode floor of every tg test: the bytes per
// token over the bandwidth measured at the same thread count.
func (r *Report) ApplyFloor() {
	bytes := float64(r.Model.Decode.Total)
	for i := range r.Results {
		res := &r.Results[i]
		bw, ok := r.BandwidthAt(res.Threads)
		if !ok || bw.GBps <= 0 || bytes <= 0 {
			continue
		}
		for j := range res.Tests {
			t := &res.Tests[j]
			if t.NGen == 0 || t.MsPerToken <= 0 {
				continue
			}
			t.FloorMsPerToken = bytes / (bw.GBps * 1e9) * 1000
			t.FloorFraction = t.FloorMsPerToken / t.MsPerToken
		}
	}
}

// WriteText prints the report as tables, like llama-bench.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "%s %s (%s, %s/%s)\n", r.Tool, r.Version, m.Go, m.OS, m.Arch)
	fmt.Fprintf(&b, "cpu: %s, %d cores, %s memory; features: %s\n", m.CPU, m.Cores, gib(m.Memory), strings.Join(m.Features, " "))
	fmt.Fprintf(&b, "kernels available: %s\n", strings.Join(m.Kernels, " "))
	if len(r.Bandwidth) > 0 {
		var parts []string
		for _, bw := range r.Bandwidth {
			parts = append(parts, fmt.Sprintf("%d thread(s) %.1f GB/s", bw.Threads, bw.GBps))
		}
		fmt.Fprintf(&b, "memory read bandwidth (%s buffer, best of %d): %s\n", size(uint64(r.Bandwidth[0].Bytes)), r.Bandwidth[0].Passes, strings.Join(parts, ", "))
	}
	md := r.Model
	fmt.Fprintf(&b, "model: %s\n", md.Path)
	if md.Random != nil {
		fmt.Fprintf(&b, "  random weights, shape %s, seed %d\n", md.Random.Shape, md.Random.Seed)
	}
	h := md.Hyper
	fmt.Fprintf(&b, "  %s %q: %s params, %s file; dim %d, %d layers, %d/%d heads, ffn %d, vocab %d\n",
		md.Architecture, md.Name, count(md.Parameters), size(md.FileSize), h.Dim, h.Layers, h.Heads, h.KVHeads, h.FFN, h.Vocab)
	d := md.Decode
	head := d.HeadType
	if d.HeadTied {
		head += ", tied to the embedding"
	}
	fmt.Fprintf(&b, "  linear %s (%.4g bits/weight), embedding %s, output head %s\n", md.WeightType, md.BitsPerWt, d.EmbedType, head)
	fmt.Fprintf(&b, "  bytes read per decoded token: %s (linear %s + head %s + embedding row %d B)\n\n",
		mb(d.Total), mb(d.Linear), mb(d.Head), d.EmbedRow)

	if err := r.writeThroughput(&b); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	warm := "warm"
	if r.Config.Cold {
		warm = "cold"
	}
	fmt.Fprintf(tw, " kernels\t threads\t load ms (%s)\t ttft ms\t ttft cold ms\t RSS MiB\t peak RSS MiB\t\n", warm)
	for _, res := range r.Results {
		fmt.Fprintf(tw, " %s\t %d\t %s\t %s\t %s\t %.0f\t %.0f\t\n", res.Kernels, res.Threads, span(&res.LoadMs),
			span(res.TTFTMs), span(res.FirstPromptColdMs), float64(res.RSS)/(1<<20), float64(res.PeakRSS)/(1<<20))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Config.Prompts) > 0 {
		fmt.Fprintf(&b, "ttft: a %d-token prompt in a fresh session until the first token is chosen; figures are median (min-max) of %d runs\n",
			r.Config.Prompts[0], r.Config.Reps)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeThroughput prints the table of ppN / tgN figures (nothing when no
// test ran).
func (r *Report) writeThroughput(b *strings.Builder) error {
	n := 0
	for _, res := range r.Results {
		n += len(res.Tests)
	}
	if n == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(b, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, " kernels\t threads\t test\t t/s median\t min\t max\t ± sd\t ms/token\t floor ms\t of floor\t")
	for _, res := range r.Results {
		for _, t := range res.Tests {
			s := t.TokensPerSecond
			floor, frac := "", ""
			if t.FloorMsPerToken > 0 {
				floor = fmt.Sprintf("%.2f", t.FloorMsPerToken)
				frac = fmt.Sprintf("%.1f %%", 100*t.FloorFraction)
			}
			fmt.Fprintf(tw, " %s\t %d\t %s\t %.2f\t %.2f\t %.2f\t %.2f\t %.2f\t %s\t %s\t\n",
				res.Kernels, res.Threads, t.Name, s.Median, s.Min, s.Max, s.StdDev, t.MsPerToken, floor, frac)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	return nil
}

// span formats a Stats as "median (min-max)" ("-" for none).
func span(s *Stats) string {
	if s == nil || s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f (%.1f-%.1f)", s.Median, s.Min, s.Max)
}

// count formats a parameter count (2.74 B, 1.6 M).
func count(n uint64) string {
	if n >= 1e9 {
		return fmt.Sprintf("%.2f B", float64(n)/1e9)
	}
	return fmt.Sprintf("%.2f M", float64(n)/1e6)
}

// size formats a byte count in MiB below 1 GiB, else in GiB.
func size(n uint64) string {
	if n < 1<<30 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return gib(n)
}

func gib(n uint64) string { return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30)) }

func mb(n uint64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
