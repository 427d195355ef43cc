package tokenize

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
)

// Load reads a tokenizer from a file of any supported kind, told apart by
// content: GGUF (the magic; the file's tokenizer metadata), Hugging Face
// tokenizer.json (a JSON object; with tokenizer_config.json beside it),
// SentencePiece tokenizer.model (a protocol buffer), or a tiktoken rank
// file (text lines "base64 rank"; Llama-3's specials for 128000 ranks). A
// folder is searched for tokenizer.json, then tokenizer.model (also taken
// when tokenizer.json is of a kind not supported). Unknown content gives an
// error wrapping errs.ErrFormat.
func Load(path string) (Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		return loadDir(path)
	}
	head, err := readHead(path, 64)
	if err != nil {
		return nil, err
	}
	switch detectKind(head) {
	case kindGGUF:
		f, err := gguf.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		t, err := FromGGUF(f.Metadata)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return t, nil
	case kindJSON:
		return FromHFJSON(path)
	case kindProtobuf:
		return FromSentencePiece(path)
	case kindTiktoken:
		return FromTiktoken(path, nil)
	}
	return nil, fmt.Errorf("tokenizer: %s is not GGUF, tokenizer.json, tokenizer.model or a tiktoken file: %w", path, errs.ErrFormat)
}

// loadDir loads tokenizer.json from a folder, or tokenizer.model when there
// is no tokenizer.json or it is of an unsupported kind.
func loadDir(dir string) (Tokenizer, error) {
	var firstErr error
	for _, name := range []string{"tokenizer.json", "tokenizer.model"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		t, err := Load(p)
		if err == nil || !errors.Is(err, errs.ErrUnsupported) {
			return t, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("tokenizer: %s holds no tokenizer.json or tokenizer.model: %w", dir, errs.ErrInvalidArgument)
}

// Kinds of tokenizer file.
const (
	kindUnknown = iota
	kindGGUF
	kindJSON
	kindProtobuf
	kindTiktoken
)

// detectKind tells the kind of file from its first bytes.
func detectKind(head []byte) int {
	if bytes.HasPrefix(head, []byte(gguf.Magic)) {
		return kindGGUF
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		return kindJSON
	case len(head) > 0 && head[0] == 0x0A: // field 1 (pieces), length-delimited
		return kindProtobuf
	case looksLikeRankLine(head):
		return kindTiktoken
	}
	return kindUnknown
}

// looksLikeRankLine reports whether head starts with "base64 digits".
func looksLikeRankLine(head []byte) bool {
	i := 0
	for i < len(head) && isBase64Char(head[i]) {
		i++
	}
	if i == 0 || i >= len(head) || head[i] != ' ' {
		return false
	}
	i++
	j := i
	for j < len(head) && head[j] >= '0' && head[j] <= '9' {
		j++
	}
	return j > i && (j == len(head) || head[j] == '\n' || head[j] == '\r')
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// readHead reads up to n bytes from the start of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return buf[:k], nil
}
