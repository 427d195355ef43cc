package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bitnet-dev/bitnet/tokenize"
)

type tokenizeOutput struct {
	IDs    []int32  `json:"ids"`
	Pieces []string `json:"pieces"`
}

func runTokenize(args []string, stdout, stderr io.Writer) error {
	return tokenizeMain(args, os.Stdin, stdout, stderr)
}

// tokenizeMain is the tokenize command with its standard input given.
func tokenizeMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", "--model PATH (--text TEXT | --file FILE | --batch) [flags]", `
Turn text into token ids with a model's tokenizer, or ids back into text.
PATH is a GGUF model, a Hugging Face tokenizer.json (tokenizer_config.json
beside it is read too), a SentencePiece tokenizer.model, a tiktoken rank file,
or a folder holding tokenizer.json or tokenizer.model.

Prints the ids separated by spaces, or {"ids": [...], "pieces": [...]} with
--json. --decode reads ids (separated by spaces or commas) from --text or
--file and prints the text.

--batch serves many texts in one process: each line of the input (--file, or
standard input) is a JSON string, and each output line is the JSON array of
its ids; with --decode each input line is a JSON array of ids and each output
line the decoded text as a JSON string; with --split each output line is the
JSON array of the pre-tokenizer's pieces (BPE only; --pretokenizer NAME picks
one by name, without a model).`, stderr)
	model := fs.String("model", "", "GGUF model, tokenizer.json, tokenizer.model or tiktoken file")
	text := fs.String("text", "", "text to tokenize (ids with --decode)")
	file := fs.String("file", "", "read the text (or the --batch lines) from this file")
	noBOS := fs.Bool("no-bos", false, "do not add BOS even if the tokenizer asks for it")
	special := fs.Bool("special", false, "match special-token texts such as <|eot_id|> (and keep them when decoding)")
	asJSON := fs.Bool("json", false, "print JSON")
	batch := fs.Bool("batch", false, "one JSON string (or id array with --decode) per input line")
	decode := fs.Bool("decode", false, "turn ids into text")
	split := fs.Bool("split", false, "with --batch: print the pre-tokenizer's pieces")
	preName := fs.String("pretokenizer", "", "with --split: use this pre-tokenizer (llama3, gpt2, default) instead of the model's")
	info := fs.Bool("info", false, "print a description of the tokenizer as JSON")
	stats := fs.Bool("stats", false, "print the encoding time and throughput to stderr")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageErr("unexpected arguments %q", pos)
	case *model == "" && !(*split && *preName != ""):
		return usageErr("--model is required")
	case *preName != "" && !*split:
		return usageErr("--pretokenizer needs --split")
	case *split && !*batch:
		return usageErr("--split needs --batch")
	case *split && *decode:
		return usageErr("--split and --decode exclude each other")
	case *batch && *text != "":
		return usageErr("--batch reads --file or standard input, not --text")
	case !*batch && !*info && (*text == "") == (*file == ""):
		return usageErr("give exactly one of --text and --file")
	}
	if *split && *preName != "" {
		return splitLines(*preName, *file, stdin, stdout)
	}
	tok, err := tokenize.Load(*model)
	if err != nil {
		return err
	}
	if *info {
		return writeIndentedJSON(stdout, tokenize.Describe(tok))
	}
	eo := tokenize.DefaultEncodeOptions(tok)
	eo.AddBOS = eo.AddBOS && !*noBOS
	eo.ParseSpecial = *special
	do := tokenize.DecodeOptions{SkipSpecial: !*special, StripLeadingSpace: true}
	if *split {
		name := tokenize.Describe(tok).PreTokenizer
		if name == "" {
			return fmt.Errorf("--split: a %s tokenizer has no pre-tokenizer", tok.Kind())
		}
		return splitLines(name, *file, stdin, stdout)
	}
	if *batch {
		in, closeIn, err := batchInput(*file, stdin)
		if err != nil {
			return err
		}
		defer closeIn()
		if *decode {
			return tokenize.DecodeLines(tok, in, stdout, do)
		}
		return tokenize.EncodeLines(tok, in, stdout, eo)
	}
	input := *text
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		input = string(b)
	}
	if *decode {
		return decodeIDs(tok, input, do, stdout)
	}
	start := time.Now()
	ids, err := tok.Encode(input, eo)
	if err != nil {
		return err
	}
	if *stats {
		d := time.Since(start)
		fmt.Fprintf(stderr, "tokenize: %d bytes -> %d tokens in %.3f ms (%.2f MB/s)\n",
			len(input), len(ids), d.Seconds()*1e3, float64(len(input))/1e6/d.Seconds())
	}
	if *asJSON {
		out := tokenizeOutput{IDs: ids, Pieces: make([]string, len(ids))}
		for i, id := range ids {
			if out.Pieces[i], err = tok.TokenToPiece(id); err != nil {
				return err
			}
		}
		return writeIndentedJSON(stdout, out)
	}
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(id)))
	}
	b.WriteByte('\n')
	_, err = io.WriteString(stdout, b.String())
	return err
}

// batchInput opens the --batch input: file, or stdin when file is "".
func batchInput(file string, stdin io.Reader) (io.Reader, func(), error) {
	if file == "" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// splitLines serves --batch --split.
func splitLines(name, file string, stdin io.Reader, stdout io.Writer) error {
	in, closeIn, err := batchInput(file, stdin)
	if err != nil {
		return err
	}
	defer closeIn()
	return tokenize.PreTokenizeLines(name, in, stdout)
}

// decodeIDs decodes ids separated by spaces or commas and prints the text.
func decodeIDs(tok tokenize.Tokenizer, s string, opts tokenize.DecodeOptions, stdout io.Writer) error {
	var ids []int32
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return usageErr("%q is not a token id", f)
		}
		ids = append(ids, int32(v))
	}
	text, err := tok.Decode(ids, opts)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, text)
	return err
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
