package llama2c

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// Vocab is a llama2.c tokenizer.bin: pieces and scores, converted to the
// SentencePiece conventions of GGUF (spaces as U+2581, token types).
type Vocab struct {
	Tokens []string
	Scores []float32
	Types  []int32 // GGUF token types: 1 normal, 2 unknown, 3 control, 6 byte
}

// Token types of GGUF.
const (
	TypeNormal  = 1
	TypeUnknown = 2
	TypeControl = 3
	TypeByte    = 6
)

// ReadVocab reads a tokenizer.bin holding n tokens (the model's vocabulary
// size; the file does not record it).
func ReadVocab(path string, n int) (*Vocab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("llama2c tokenizer: %w", err)
	}
	v, err := ParseVocab(b, n)
	if err != nil {
		return nil, fmt.Errorf("llama2c tokenizer %s: %w", path, err)
	}
	return v, nil
}

// ParseVocab parses the bytes of a tokenizer.bin holding n tokens.
func ParseVocab(b []byte, n int) (*Vocab, error) {
	if n <= 0 || n > 1<<22 {
		return nil, fmt.Errorf("vocabulary size %d out of range: %w", n, errs.ErrInvalidArgument)
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("file too short: %w", errs.ErrFormat)
	}
	maxLen := int32(binary.LittleEndian.Uint32(b))
	if maxLen <= 0 || maxLen > 1<<16 {
		return nil, fmt.Errorf("max token length %d out of range: %w", maxLen, errs.ErrFormat)
	}
	v := &Vocab{Tokens: make([]string, n), Scores: make([]float32, n), Types: make([]int32, n)}
	pos := 4
	for i := 0; i < n; i++ {
		if len(b)-pos < 8 {
			return nil, fmt.Errorf("token %d: truncated (the file holds fewer than %d tokens): %w", i, n, errs.ErrFormat)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(b[pos:]))
		l := int32(binary.LittleEndian.Uint32(b[pos+4:]))
		pos += 8
		if l < 0 || l > maxLen || int(l) > len(b)-pos {
			return nil, fmt.Errorf("token %d: length %d invalid or past the end: %w", i, l, errs.ErrFormat)
		}
		piece := string(b[pos : pos+int(l)])
		pos += int(l)
		v.Scores[i] = score
		v.Tokens[i], v.Types[i] = spmPiece(i, piece)
	}
	if pos != len(b) {
		return nil, fmt.Errorf("%d bytes after %d tokens: the vocabulary size does not match the file: %w", len(b)-pos, n, errs.ErrFormat)
	}
	return v, nil
}

// spmPiece undoes llama2.c's export conventions: U+2581 became a space, and
// BOS/EOS were written as "\n<s>\n" and "\n</s>\n".
func spmPiece(id int, p string) (string, int32) {
	switch {
	case id == 0 && p == "<unk>":
		return p, TypeUnknown
	case strings.TrimSpace(p) == "<s>" || strings.TrimSpace(p) == "</s>":
		return strings.TrimSpace(p), TypeControl
	case len(p) == 6 && strings.HasPrefix(p, "<0x") && p[5] == '>':
		return p, TypeByte
	}
	return strings.ReplaceAll(p, " ", "\u2581"), TypeNormal
}
