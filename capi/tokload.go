package main

import "github.com/bitnet-dev/bitnet/tokenize"

// loadTokenizer loads a tokenizer file: a GGUF vocabulary, tokenizer.json,
// tokenizer.model or tiktoken ranks.
func loadTokenizer(path string) (tokenize.Tokenizer, error) { return tokenize.Load(path) }

// endOfGeneration lists the tokens ending generation.
func endOfGeneration(t tokenize.Tokenizer) []int32 { return tokenize.EndOfGeneration(t) }
