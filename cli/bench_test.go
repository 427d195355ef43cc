package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/bench"
)

func TestBenchRandomTinyPrintsCompleteJSONReport(t *testing.T) {
	out := mustRun(t, "bench", "--random", "tiny", "--reps", "1", "-p", "8", "-n", "4", "--threads", "1", "--json", "--bw-mib", "16")
	// Field names, as scripts read them.
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"tool", "version", "machine", "memory_bandwidth", "model", "config", "results"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("report has no %q field", k)
		}
	}
	var r bench.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Machine.CPU == "" || r.Machine.Cores < 1 || len(r.Machine.Kernels) == 0 {
		t.Errorf("machine %+v", r.Machine)
	}
	if len(r.Bandwidth) == 0 || !(r.Bandwidth[0].GBps > 0) {
		t.Errorf("bandwidth %+v", r.Bandwidth)
	}
	m := r.Model
	if m.Random == nil || m.Random.Shape != "tiny" || m.Architecture != "bitnet-b1.58" || m.FileSize == 0 || m.Decode.Total == 0 {
		t.Errorf("model %+v", m)
	}
	if len(r.Results) != 1 {
		t.Fatalf("%d results, want 1", len(r.Results))
	}
	res := r.Results[0]
	if res.Threads != 1 || res.Kernels == "" || !(res.LoadMs.Median > 0) || res.TTFTMs == nil || !(res.TTFTMs.Median > 0) || res.PeakRSS == 0 {
		t.Errorf("result %+v", res)
	}
	if len(res.Tests) != 2 || res.Tests[0].Name != "pp8" || res.Tests[1].Name != "tg4" {
		t.Fatalf("tests %+v, want pp8 and tg4", res.Tests)
	}
	for _, tt := range res.Tests {
		if !(tt.TokensPerSecond.Median > 0) || tt.TokensPerSecond.N != 1 || !(tt.MsPerToken > 0) {
			t.Errorf("%s: %+v", tt.Name, tt)
		}
	}
	if tg := res.Tests[1]; !(tg.FloorMsPerToken > 0) || !(tg.FloorFraction > 0) || !(tg.WeightGBps > 0) {
		t.Errorf("tg4 floor %v ms, fraction %v, weight GB/s %v", tg.FloorMsPerToken, tg.FloorFraction, tg.WeightGBps)
	}
}

func TestBenchKeepsAndReusesRandomModelAndWritesOut(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "tiny.gguf")
	outFile := filepath.Join(dir, "r.json")
	args := []string{"bench", "--random", "tiny", "--arch", "bitnet", "--type", "tq2_0", "--embed-type", "q8_0", "--keep", keep,
		"--reps", "1", "-p", "4", "-n", "0", "--threads", "1", "--bw-mib", "0", "--out", outFile}
	status, text, errOut := bitnet(args...)
	if status != 0 || !strings.Contains(errOut, "wrote random tiny model") {
		t.Fatalf("first run: status %d, stderr %s", status, errOut)
	}
	if !strings.Contains(text, "pp4") || !strings.Contains(text, "kernels") {
		t.Errorf("text report lacks the table:\n%s", text)
	}
	status, _, errOut = bitnet(args...)
	if status != 0 || !strings.Contains(errOut, "reusing "+keep) {
		t.Fatalf("second run: status %d, stderr %s", status, errOut)
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Model.Architecture != "bitnet" || r.Model.WeightType != "TQ2_0" || r.Model.Decode.EmbedType != "Q8_0" || len(r.Bandwidth) != 0 {
		t.Errorf("--out report: arch %s, weights %s, embedding %s, %d bandwidth figures", r.Model.Architecture, r.Model.WeightType, r.Model.Decode.EmbedType, len(r.Bandwidth))
	}
	if len(r.Results) != 1 || len(r.Results[0].Tests) != 1 || r.Results[0].Tests[0].Name != "pp4" {
		t.Errorf("--out results %+v, want one pp4 test", r.Results)
	}
}

func TestBenchUsageErrorsExitWithStatus2(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "--model", "a.gguf", "--random", "tiny"},
		{"bench", "--random", "huge"},
		{"bench", "--random", "tiny", "--type", "f16"},
		{"bench", "--random", "tiny", "--arch", "llama"},
		{"bench", "--random", "tiny", "--threads", "0"},
		{"bench", "--random", "tiny", "-p", "x"},
		{"bench", "--random", "tiny", "--reps", "0"},
		{"bench", "--random", "tiny", "--kernels", "cuda"},
	} {
		if status, _, errOut := bitnet(args...); status != 2 {
			t.Errorf("%v: status %d, want 2 (stderr %s)", args, status, errOut)
		}
	}
}
