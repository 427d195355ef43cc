// Command bitnet runs, inspects and converts BitNet b1.58 and LLaMA models.
//
//	bitnet generate --model M.gguf --prompt "Once upon a time"
//	bitnet inspect M.gguf
//	bitnet convert stories260K.bin out.gguf --type f32
//	bitnet logits --model M.gguf --tokens 1,403,407
//	bitnet tokenize --model tokenizer.json --text "Hello"
//
// Run `bitnet help COMMAND` for the flags of a command.
package main

import (
	"os"

	"github.com/bitnet-dev/bitnet/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
