package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/llama2c"
	"github.com/bitnet-dev/bitnet/quant"
)

func runConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", "[flags] INPUT OUTPUT  |  bitnet convert --random SHAPE [flags] OUTPUT", `
Convert a model to GGUF.

INPUT may be a llama2.c checkpoint (legacy float32, ak42 v1 float32, or the
ternary bitllama2c ak42 v1 format; written as architecture "llama", or
"bitnet" for ternary models), a GGUF file (its linear layers are rewritten
in --type), or a Hugging Face model: a folder with config.json, safetensors
weights (one file or shards with model.safetensors.index.json) and its
tokenizer, a .safetensors file beside its config.json, or
hf://org/name[@revision] (downloaded into the Hugging Face cache first).
LlamaForCausalLM becomes "llama" (q/k rows permuted to llama.cpp's
layout), BitNetForCausalLM "bitnet-b1.58" (relu2) or "bitnet" (silu),
BitnetForCausalLM (1bitLLM) "bitnet"; packed ternary weights and float
master weights (ternarized with absmean) are both read. With --random
SHAPE, no input is read: a model of that shape with random ternary weights
is written (for benchmarks).

Types: f32, f16, bf16, q8_0, q4_0, q4_1, q6_k, i2_s, tq2_0, tq1_0. Ternary
types (i2_s, tq2_0, tq1_0) need ternary weights or a BitNet architecture,
and rows that are a multiple of their block (128 for i2_s, 256 for tq*).`, stderr)
	typ := fs.String("type", "f32", "weight type of the linear layers")
	embed := fs.String("embed-type", "", "type of token_embd/output (default: --type for float types; unchanged (F16 for --random) for ternary types)")
	tok := fs.String("tokenizer", "", "tokenizer of a llama2.c model: tokenizer.model or tokenizer.bin (default: looked for next to INPUT)")
	random := fs.String("random", "", "write random ternary weights of this shape: "+strings.Join(convert.ShapeNames(), ", "))
	seed := fs.Uint64("seed", 1, "random seed for --random")
	name := fs.String("name", "", "general.name of the output (default: from INPUT)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := quant.ParseType(*typ)
	if err != nil {
		return usageErr("--type: %v", err)
	}
	opts := convert.Options{Type: t, Name: *name}
	if *embed != "" {
		et, err := quant.ParseType(*embed)
		if err != nil {
			return usageErr("--embed-type: %v", err)
		}
		opts.EmbedType = &et
	}
	start := time.Now()
	if !*quiet && isTerminal(stderr) {
		opts.Progress = func(done, total int, name string) {
			fmt.Fprintf(stderr, "\r[%d/%d] %-40s", done, total, name)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	var w *gguf.Writer
	var out string
	if *random != "" {
		if len(pos) != 1 {
			return usageErr("--random takes one argument, OUTPUT")
		}
		out = pos[0]
		if w, err = convert.Random(*random, *seed, opts); err != nil {
			return err
		}
	} else {
		if len(pos) != 2 {
			return usageErr("expected INPUT and OUTPUT")
		}
		in := pos[0]
		out = pos[1]
		if repo, rev, ok, err := parseHFModel(in); err != nil {
			return err
		} else if ok {
			var progress io.Writer
			if !*quiet {
				progress = stderr
			}
			if in, err = resolvePretrained(repo, rev, progress); err != nil {
				return err
			}
		}
		if abs(in) == abs(out) {
			return usageErr("INPUT and OUTPUT are the same file")
		}
		if !gguf.IsGGUF(in) && hf.IsModelPath(in) {
			m, err := hf.Open(in, hf.Options{})
			if err != nil {
				return err
			}
			defer m.Close()
			if w, err = convert.FromHF(m, opts); err != nil {
				return err
			}
			if !w.Metadata.Has("tokenizer.ggml.model") && !*quiet {
				fmt.Fprintf(stderr, "note: %s has no tokenizer.model or byte-level BPE tokenizer.json; the output carries no tokenizer\n", m.Dir)
			}
		} else if gguf.IsGGUF(in) {
			f, err := gguf.Open(in)
			if err != nil {
				return err
			}
			defer f.Close()
			if w, err = convert.FromGGUF(f, opts); err != nil {
				return err
			}
		} else {
			m, err := llama2c.Open(in)
			if err != nil {
				return err
			}
			defer m.Close()
			tp := *tok
			if tp == "" {
				if tp, err = convert.FindVocab(in, m.Config.Vocab); err != nil {
					return err
				}
			}
			vocab, err := convert.LoadVocab(tp, m.Config.Vocab)
			if err != nil {
				return err
			}
			base := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
			if w, err = convert.FromLlama2c(m, vocab, base, opts); err != nil {
				return err
			}
		}
	}
	if err := w.WriteFile(out); err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stderr, "wrote %s in %.1f s\n", out, time.Since(start).Seconds())
	}
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// isTerminal reports whether w is a character device (progress lines with
// carriage returns only make sense there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
