package tokenize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/bitnet-dev/bitnet/errs"
)

// EncodeLines is the batch form of Encode for other processes: it reads one
// JSON string per line from r (JSON so that newlines and any character
// survive; invalid UTF-8 or lone surrogates in it become U+FFFD, as JSON
// decoding does) and writes the ids of each as a JSON array on a line of
// its own to w. Output is flushed whenever the input has no more lines
// buffered, so it can serve a pipe line by line. A line that is not a JSON
// string is an error wrapping errs.ErrInvalidArgument, naming the line.
func EncodeLines(t Tokenizer, r io.Reader, w io.Writer, opts EncodeOptions) error {
	var buf []byte
	return eachLine(r, w, func(line []byte, out *bufio.Writer) error {
		var text string
		if err := json.Unmarshal(line, &text); err != nil {
			return fmt.Errorf("not a JSON string: %v: %w", err, errs.ErrInvalidArgument)
		}
		ids, err := t.Encode(text, opts)
		if err != nil {
			return err
		}
		buf = appendIDs(buf[:0], ids)
		_, err = out.Write(append(buf, '\n'))
		return err
	})
}

// DecodeLines is the batch form of Decode: it reads one JSON array of ids
// per line from r and writes each decoded text as a JSON string on a line
// of its own to w (bytes that are not valid UTF-8 become U+FFFD there).
func DecodeLines(t Tokenizer, r io.Reader, w io.Writer, opts DecodeOptions) error {
	return eachLine(r, w, func(line []byte, out *bufio.Writer) error {
		var ids []int32
		if err := json.Unmarshal(line, &ids); err != nil {
			return fmt.Errorf("not a JSON array of ids: %v: %w", err, errs.ErrInvalidArgument)
		}
		text, err := t.Decode(ids, opts)
		if err != nil {
			return err
		}
		return writeJSONLine(out, text)
	})
}

// PreTokenizeLines writes, for each JSON string line of r, the pieces that
// the named pre-tokenizer (see PreTokenize) cuts it into, as a JSON array of
// strings. An unknown name gives an error wrapping errs.ErrUnsupported.
func PreTokenizeLines(name string, r io.Reader, w io.Writer) error {
	_, split, err := canonicalPre(name)
	if err != nil {
		return fmt.Errorf("pre-tokenize: %w", err)
	}
	pieces := make([]string, 0, 64) // never nil: "" gives [], not null
	return eachLine(r, w, func(line []byte, out *bufio.Writer) error {
		var text string
		if err := json.Unmarshal(line, &text); err != nil {
			return fmt.Errorf("not a JSON string: %v: %w", err, errs.ErrInvalidArgument)
		}
		pieces = split(text, pieces[:0])
		return writeJSONLine(out, pieces)
	})
}

// eachLine calls fn for every line of r and flushes w when r has nothing
// more buffered (and at the end).
func eachLine(r io.Reader, w io.Writer, fn func(line []byte, out *bufio.Writer) error) error {
	in := bufio.NewReaderSize(r, 1<<16)
	out := bufio.NewWriterSize(w, 1<<16)
	for n := 1; ; n++ {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			if ferr := fn(bytes.TrimRight(line, "\r\n"), out); ferr != nil {
				return fmt.Errorf("line %d: %w", n, ferr)
			}
		}
		if errors.Is(err, io.EOF) {
			return out.Flush()
		}
		if err != nil {
			return fmt.Errorf("read line %d: %w", n, err)
		}
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return err
			}
		}
	}
}

// appendIDs writes ids as a JSON array.
func appendIDs(b []byte, ids []int32) []byte {
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return append(b, ']')
}

// writeJSONLine writes v as JSON (HTML characters unescaped) and a newline.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
