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

// tokenizeRun runs the tokenize command with stdin and returns its output
// and error.
func tokenizeRun(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := tokenizeMain(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestTokenizePrintsIDsOfEachTokenizerFileKind(t *testing.T) {
	llama3 := testassets.Path(t, "tokenizers/llama3-tokenizer.json")
	cases := []struct {
		model string
		args  []string
		want  string
	}{
		// Hugging Face tokenizers: encode("Hello world<|eot_id|>") with and
		// without special tokens (its post-processor adds no BOS).
		{llama3, []string{"--text", "Hello world<|eot_id|>", "--special"}, "9906 1917 128009\n"},
		{llama3, []string{"--text", "Hello world<|eot_id|>"}, "9906 1917 27 91 68 354 851 91 29\n"},
		// The tiktoken file adds BOS by default, as Meta's tokenizer does.
		{testassets.Path(t, "tokenizers/llama3-tiktoken-ranks.model"), []string{"--text", "Hello world"}, "128000 9906 1917\n"},
		{testassets.Path(t, "tokenizers/llama3-tiktoken-ranks.model"), []string{"--text", "Hello world", "--no-bos"}, "9906 1917\n"},
		// sentencepiece: [1] + encode("Hello world").
		{testassets.Path(t, "tokenizers/llama2-tokenizer.model"), []string{"--text", "Hello world"}, "1 15043 3186\n"},
		{testassets.Path(t, "tokenizers/ggml-vocab-llama-spm.gguf"), []string{"--text", "Hello world"}, "1 15043 3186\n"},
	}
	for _, c := range cases {
		out := mustRun(t, append([]string{"tokenize", "--model", c.model}, c.args...)...)
		if out != c.want {
			t.Errorf("%s %v: got %q, want %q", filepath.Base(c.model), c.args, out, c.want)
		}
	}
}

func TestTokenizeJSONHasIDsAndPieces(t *testing.T) {
	out := mustRun(t, "tokenize", "--model", testassets.Path(t, "tokenizers/llama3-tokenizer.json"), "--text", "Hello world", "--json")
	var got struct {
		IDs    []int32  `json:"ids"`
		Pieces []string `json:"pieces"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.IDs) != 2 || got.IDs[1] != 1917 || got.Pieces[1] != "Ġworld" {
		t.Errorf("got %+v", got)
	}
}

func TestTokenizeBatchEncodesDecodesAndSplitsLines(t *testing.T) {
	model := testassets.Path(t, "tokenizers/llama3-tokenizer.json")
	out, _, err := tokenizeRun(t, "\"Hello world\"\n\"a\\nb\"\n", "--model", model, "--batch", "--no-bos")
	if err != nil || out != "[9906,1917]\n[64,198,65]\n" {
		t.Fatalf("encode: %q, %v", out, err)
	}
	back, _, err := tokenizeRun(t, out, "--model", model, "--batch", "--decode")
	if err != nil || back != "\"Hello world\"\n\"a\\nb\"\n" {
		t.Fatalf("decode: %q, %v", back, err)
	}
	split, _, err := tokenizeRun(t, "\"Hello  world\"\n", "--batch", "--split", "--pretokenizer", "gpt2")
	if err != nil || split != "[\"Hello\",\" \",\" world\"]\n" {
		t.Fatalf("split: %q, %v", split, err)
	}
	// --file feeds the batch too.
	p := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(p, []byte("\"Hello world\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "tokenize", "--model", model, "--batch", "--no-bos", "--file", p); out != "[9906,1917]\n" {
		t.Errorf("batch from file: %q", out)
	}
}

func TestTokenizeDecodesIDsAndDescribesTheTokenizer(t *testing.T) {
	model := testassets.Path(t, "tokenizers/llama3-tokenizer.json")
	if out := mustRun(t, "tokenize", "--model", model, "--decode", "--text", "128000, 9906 1917"); out != "Hello world\n" {
		t.Errorf("decode: %q", out)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "tokenize", "--model", model, "--info")), &info); err != nil {
		t.Fatal(err)
	}
	if info["kind"] != "bpe" || info["pre_tokenizer"] != "llama3" || info["eot"] != float64(128009) {
		t.Errorf("info %v", info)
	}
}

func TestTokenizeUsageErrors(t *testing.T) {
	model := testassets.Path(t, "tokenizers/llama2-tokenizer.model")
	for _, args := range [][]string{
		{"tokenize"},
		{"tokenize", "--model", model},
		{"tokenize", "--model", model, "--text", "x", "--file", "y"},
		{"tokenize", "--model", model, "--split"},
		{"tokenize", "--model", model, "--batch", "--text", "x"},
		{"tokenize", "--pretokenizer", "gpt2", "--text", "x"},
		{"tokenize", "--model", model, "--decode", "--text", "1 two"},
		{"tokenize", "--model", model, "--text", "x", "extra"},
	} {
		if status, _, errOut := bitnet(args...); status != 2 {
			t.Errorf("bitnet %v: status %d, want 2 (stderr %q)", args, status, errOut)
		}
	}
	for _, args := range [][]string{
		{"tokenize", "--model", "no-such-file.json", "--text", "x"},
		{"tokenize", "--model", model, "--batch", "--split"},
		{"tokenize", "--model", model, "--decode", "--text", "99999999"},
	} {
		if status, _, errOut := bitnet(args...); status != 1 {
			t.Errorf("bitnet %v: status %d, want 1 (stderr %q)", args, status, errOut)
		}
	}
}
