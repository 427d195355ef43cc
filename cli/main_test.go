package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// bitnet runs the command line in-process and returns its exit status and
// output.
func bitnet(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	status := Run(args, &out, &errOut)
	return status, out.String(), errOut.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	status, out, errOut := bitnet(args...)
	if status != 0 {
		t.Fatalf("bitnet %v: status %d\nstderr: %s", args, status, errOut)
	}
	return out
}

func TestHelpListsEveryCommandAndEachCommandHasHelp(t *testing.T) {
	out := mustRun(t, "help")
	for _, c := range commands() {
		if !strings.Contains(out, c.name) {
			t.Errorf("help does not list %s", c.name)
		}
		status, _, errOut := bitnet(c.name, "--help")
		if status != 0 || !strings.Contains(errOut, "Usage: bitnet "+c.name) {
			t.Errorf("%s --help: status %d, output %q", c.name, status, errOut)
		}
	}
	for _, flagName := range []string{"--model", "--prompt", "--max-tokens", "--temperature", "--top-k", "--top-p", "--repeat-penalty", "--seed", "--threads", "--json"} {
		_, _, errOut := bitnet("generate", "--help")
		if !strings.Contains(errOut, strings.TrimPrefix(flagName, "-")) {
			t.Errorf("generate --help does not document %s", flagName)
		}
	}
}

func TestUsageErrorsExitWithStatus2(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"generate"},
		{"generate", "--model", "x.gguf", "--temperature", "-1"},
		{"generate", "--model", "x.gguf", "--max-tokens", "0"},
		{"inspect"},
		{"convert", "only-one-arg"},
		{"convert", "a", "b", "--type", "q9_9"},
		{"logits", "--model", "x.gguf"},
		{"generate", "--no-such-flag"},
	} {
		if status, _, errOut := bitnet(args...); status != 2 {
			t.Errorf("bitnet %v: status %d, want 2 (stderr %q)", args, status, errOut)
		}
	}
}

func TestMissingModelFileIsAnErrorNotAPanic(t *testing.T) {
	status, _, errOut := bitnet("generate", "--model", "no-such-file.gguf", "--prompt", "hi")
	if status != 1 || !strings.Contains(errOut, "no-such-file.gguf") {
		t.Fatalf("status %d, stderr %q", status, errOut)
	}
}

// convertStories converts the llama2.c stories260K model into dir.
func convertStories(t *testing.T, dir, typ string) string {
	t.Helper()
	out := filepath.Join(dir, "stories-"+typ+".gguf")
	mustRun(t, "convert", testassets.Path(t, "models/stories260K.bin"), out, "--type", typ,
		"--tokenizer", testassets.Path(t, "models/tok512.model"), "--quiet")
	return out
}

func TestGenerateJSONReproducesTheGoldenStory(t *testing.T) {
	model := convertStories(t, t.TempDir(), "f32")
	out := mustRun(t, "generate", "--model", model, "--temperature", "0", "--max-tokens", "256", "--json", "--quiet")
	var res generateOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	gold, err := os.ReadFile(testassets.Path(t, "golden/stories260K.runc.greedy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text+"\n" != string(gold) || len(res.Tokens) != 256 || res.StopReason != "max_tokens" {
		t.Fatalf("stop %q, %d tokens, text %q", res.StopReason, len(res.Tokens), res.Text)
	}
	if len(res.PromptTokens) != 1 || res.PromptTokens[0] != 1 {
		t.Fatalf("prompt tokens %v, want [1] (BOS)", res.PromptTokens)
	}
}

func TestGenerateStreamsPromptContinuation(t *testing.T) {
	model := convertStories(t, t.TempDir(), "f16")
	out := mustRun(t, "generate", "--model", model, "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "12", "--quiet")
	if !strings.HasPrefix(out, "Once upon a time, there was a little girl") {
		t.Fatalf("prompt and continuation %q", out)
	}
	out = mustRun(t, "generate", "--model", model, "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "12", "--quiet", "--no-echo")
	if !strings.HasPrefix(out, ", there was a little girl") {
		t.Fatalf("continuation %q", out)
	}
}

func TestInspectJSONDescribesTheFile(t *testing.T) {
	out := mustRun(t, "inspect", "--json", testassets.Path(t, "gguf/bit3M-bitnet-tq2_0.gguf"))
	var res inspectOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Architecture != "bitnet" || len(res.Tensors) != 146 || res.TypeCounts["TQ2_0"] != 56 || res.Version != 3 {
		t.Fatalf("arch %q, %d tensors, types %v", res.Architecture, len(res.Tensors), res.TypeCounts)
	}
	text := mustRun(t, "inspect", testassets.Path(t, "gguf/bit3M-bitnet-tq2_0.gguf"))
	for _, want := range []string{"architecture: bitnet", "blk.0.attn_q.weight", "TQ2_0", "tokenizer.ggml.tokens"} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect output lacks %q", want)
		}
	}
}

func TestLogitsJSONHasOneRowPerToken(t *testing.T) {
	model := convertStories(t, t.TempDir(), "f32")
	out := mustRun(t, "logits", "--model", model, "--tokens", "1,403,407", "--json")
	var res struct {
		Tokens []int32     `json:"tokens"`
		Vocab  int         `json:"vocab_size"`
		Logits [][]float64 `json:"logits"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Logits) != 3 || len(res.Logits[0]) != 512 || res.Vocab != 512 {
		t.Fatalf("%d rows of %d", len(res.Logits), len(res.Logits[0]))
	}
	// Greedy after BOS is token 403 ("Once").
	best := 0
	for i, v := range res.Logits[0] {
		if v > res.Logits[0][best] {
			best = i
		}
	}
	if best != 403 {
		t.Fatalf("argmax after BOS = %d, want 403", best)
	}
	last := mustRun(t, "logits", "--model", model, "--prompt", "Once upon", "--last")
	if strings.Count(last, "after token") != 1 {
		t.Fatalf("--last printed:\n%s", last)
	}
}

func TestConvertRandomWritesALoadableModel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny.gguf")
	mustRun(t, "convert", "--random", "tiny", out, "--type", "tq2_0", "--quiet")
	res := mustRun(t, "generate", "--model", out, "--prompt", "hello", "--max-tokens", "5", "--seed", "3", "--json", "--quiet")
	if !strings.Contains(res, `"stop_reason"`) {
		t.Fatalf("generate on a random model: %s", res)
	}
	if status, _, errOut := bitnet("convert", "--random", "huge", out); status != 1 || !strings.Contains(errOut, "unknown shape") {
		t.Fatalf("unknown shape: status %d, %q", status, errOut)
	}
}

func TestConvertRefusesImpossibleTypes(t *testing.T) {
	dir := t.TempDir()
	status, _, errOut := bitnet("convert", testassets.Path(t, "models/stories260K.bin"), filepath.Join(dir, "x.gguf"),
		"--type", "i2_s", "--tokenizer", testassets.Path(t, "models/tok512.model"), "--quiet")
	if status != 1 || !strings.Contains(errOut, "destroy") {
		t.Fatalf("float llama model to i2_s: status %d, %q", status, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); !os.IsNotExist(err) {
		t.Fatalf("a refused conversion left a file: %v", err)
	}
}

func TestVersionPrintsTheKernels(t *testing.T) {
	out := mustRun(t, "version")
	if !strings.Contains(out, Version) || !strings.Contains(out, "kernels:") {
		t.Fatalf("version output %q", out)
	}
}
