package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

func jsonLines(t *testing.T, values ...any) string {
	t.Helper()
	var b strings.Builder
	for _, v := range values {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestEncodeLinesAndDecodeLinesRoundTrip(t *testing.T) {
	b := loadLlama3(t)
	texts := []string{"Hello world", "", "two\nlines\r\n", "🦙 <|eot_id|>", "\u2028 \u0085 x"}
	args := make([]any, len(texts))
	for i, s := range texts {
		args[i] = s
	}
	var out bytes.Buffer
	if err := EncodeLines(b, strings.NewReader(jsonLines(t, args...)), &out, EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d output lines for %d texts: %q", len(lines), len(texts), out.String())
	}
	for i, line := range lines {
		var ids []int32
		if err := json.Unmarshal([]byte(line), &ids); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if want, _ := b.Encode(texts[i], EncodeOptions{}); !slices.Equal(ids, want) || ids == nil {
			t.Errorf("line %d: %v, want %v", i, ids, want)
		}
	}
	var back bytes.Buffer
	if err := DecodeLines(b, strings.NewReader(out.String()), &back, DecodeOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(back.String(), "\n"), "\n") {
		var s string
		if err := json.Unmarshal([]byte(line), &s); err != nil || s != texts[i] {
			t.Errorf("line %d decodes to %q (%v), want %q", i, s, err, texts[i])
		}
	}
}

func TestPreTokenizeLinesWritesThePieces(t *testing.T) {
	var out bytes.Buffer
	if err := PreTokenizeLines("llama-bpe", strings.NewReader(`"Hello  world's"`+"\n\"\"\n"), &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "[\"Hello\",\" \",\" world\",\"'s\"]\n[]\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := PreTokenizeLines("bert", strings.NewReader(""), io.Discard); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("unknown pre-tokenizer: %v", err)
	}
}

func TestLinesReportTheBadLine(t *testing.T) {
	b := loadLlama3(t)
	err := EncodeLines(b, strings.NewReader("\"ok\"\nnot json\n"), io.Discard, EncodeOptions{})
	if !errors.Is(err, errs.ErrInvalidArgument) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("encode: %v", err)
	}
	err = DecodeLines(b, strings.NewReader("[1,2]\n[1, 999999999]\n"), io.Discard, DecodeOptions{})
	if !errors.Is(err, errs.ErrTokenization) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("decode: %v", err)
	}
	err = DecodeLines(b, strings.NewReader("\"text\"\n"), io.Discard, DecodeOptions{})
	if !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("decode of a string: %v", err)
	}
}

// A pipe that delivers one line at a time gets each answer before the next
// line is written (a client can use the batch mode interactively).
func TestEncodeLinesAnswersEachLineOfAPipe(t *testing.T) {
	b := loadLlama3(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- EncodeLines(b, inR, outW, EncodeOptions{}); outW.Close() }()
	buf := make([]byte, 256)
	for _, line := range []string{"\"Hello\"\n", "\"world\"\n"} {
		if _, err := io.WriteString(inW, line); err != nil {
			t.Fatal(err)
		}
		n, err := outR.Read(buf)
		if err != nil || !strings.HasSuffix(string(buf[:n]), "]\n") {
			t.Fatalf("no answer to %q: %q, %v", line, buf[:n], err)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
