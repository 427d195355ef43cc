// Package cli is the bitnet command line: it runs, inspects and converts
// BitNet b1.58 and LLaMA models. cmd/bitnet and the C ABI's bitnet_cli_main
// (python -m bitnet) both run it.
//
//	bitnet generate --model M.gguf --prompt "Once upon a time"
//	bitnet inspect M.gguf
//	bitnet convert stories260K.bin out.gguf --type f32
//	bitnet logits --model M.gguf --tokens 1,403,407
//
// Run `bitnet help COMMAND` for the flags of a command.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Version is the version of the command, the engine and the C library.
const Version = "0.1.0"

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"generate", "generate text from a prompt (streams to stdout)", runGenerate},
		{"logits", "print the logits the model gives a token sequence", runLogits},
		{"inspect", "show a model file's metadata and tensors", runInspect},
		{"tokenize", "turn text into token ids and back with a model's tokenizer", runTokenize},
		{"convert", "convert llama2.c or GGUF models to GGUF, or write a random model", runConvert},
		{"bench", "measure prefill and decode speed, load time and memory (like llama-bench)", runBench},
		{"version", "print version and build information", runVersion},
	}
}

// Run executes one command line (without the program name) and returns the
// exit status: 0 on success, 2 for usage errors, 1 for other failures.
func Run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "bitnet: internal error: %v\n", r)
			status = 1
		}
	}()
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "--help", "help":
		if len(rest) > 0 {
			return Run([]string{rest[0], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	case "-v", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(rest, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "bitnet %s: %v\n", name, err)
			fmt.Fprintf(stderr, "Run 'bitnet help %s' for usage.\n", name)
			return 2
		default:
			fmt.Fprintf(stderr, "bitnet %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "bitnet: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "bitnet %s: an inference engine for BitNet b1.58 (ternary) and LLaMA models.\n\n", Version)
	fmt.Fprintln(w, "Usage: bitnet COMMAND [flags] [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'bitnet help COMMAND' (or 'bitnet COMMAND --help') for a command's flags.")
	fmt.Fprintln(w, "\nEnvironment:")
	fmt.Fprintln(w, "  BITNET_NUM_THREADS  compute threads when --threads is not given (default: all cores)")
	fmt.Fprintln(w, "  BITNET_KERNELS      kernel implementation when --kernels is not given (go, avx2, avx512; default: the fastest)")
}

// errUsage marks errors in the command line.
var errUsage = errors.New("usage error")

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), errUsage)
}

// newFlags returns a flag set whose usage text starts with synopsis and
// description.
func newFlags(name, synopsis, description string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: bitnet %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may appear before, between or after positional
// arguments, and returns the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErr("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
