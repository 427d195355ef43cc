package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bitnet-dev/bitnet/tokenize"
)

type logitsOutput struct {
	Model  string  `json:"model"`
	Tokens []int32 `json:"tokens"`
	Vocab  int     `json:"vocab_size"`
	// Logits[i] are the logits after tokens[0..i] (or only the last row
	// with --last).
	Logits [][]any `json:"logits"`
}

func runLogits(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("logits", "--model FILE (--tokens IDS | --prompt TEXT) [flags]", `
Evaluate a token sequence in one batched pass and print the logits the model
gives after each token: the top entries as text, or every value as JSON
(--json). Tests compare them with reference implementations; users debug
models with them.`, stderr)
	var mf modelFlags
	mf.register(fs)
	tokens := fs.String("tokens", "", "comma-separated token ids")
	prompt := fs.String("prompt", "", "text to tokenize instead of --tokens (BOS added as the model asks)")
	last := fs.Bool("last", false, "only the logits after the last token")
	asJSON := fs.Bool("json", false, "print every logit as JSON")
	top := fs.Int("top", 5, "entries per position in text output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected arguments %q", pos)
	}
	if (*tokens == "") == (*prompt == "") {
		return usageErr("give exactly one of --tokens and --prompt")
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	var ids []int32
	if *tokens != "" {
		for _, f := range strings.Split(*tokens, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil {
				return usageErr("--tokens: %q is not a token id", f)
			}
			ids = append(ids, int32(v))
		}
	} else {
		if m.Tokenizer == nil {
			return usageErr("the model has no tokenizer; use --tokens")
		}
		if ids, err = m.Tokenizer.Encode(*prompt, tokenize.DefaultEncodeOptions(m.Tokenizer)); err != nil {
			return err
		}
	}
	s, err := m.NewSession()
	if err != nil {
		return err
	}
	logits, err := s.Forward(ids, !*last)
	if err != nil {
		return err
	}
	vocab := m.Hyper.Vocab
	rows := len(logits) / vocab
	if *asJSON {
		out := logitsOutput{Model: mf.model, Tokens: ids, Vocab: vocab}
		for r := 0; r < rows; r++ {
			row := make([]any, vocab)
			for i, v := range logits[r*vocab : (r+1)*vocab] {
				row[i] = jsonFloat(float64(v))
			}
			out.Logits = append(out.Logits, row)
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	for r := 0; r < rows; r++ {
		at := len(ids) - rows + r
		row := logits[r*vocab : (r+1)*vocab]
		idx := make([]int, vocab)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		fmt.Fprintf(stdout, "after token %d (id %d):", at, ids[at])
		for _, i := range idx[:min(*top, vocab)] {
			piece := ""
			if m.Tokenizer != nil {
				piece, _ = m.Tokenizer.TokenToPiece(int32(i))
			}
			fmt.Fprintf(stdout, "  %d %q %.4f", i, piece, row[i])
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// jsonFloat keeps non-finite logits representable in JSON (as strings).
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}
