package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
)

// truncationFixture is a file written by the Writer with every value type
// and several tensors, with its section boundaries taken from an
// independent parse of the same bytes.
func truncationFixture(t *testing.T) (b []byte, f *File, lastEnd int) {
	t.Helper()
	w, _ := sampleWriter(t, 64)
	b = writeBytes(t, w)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Tensors {
		lastEnd = max(lastEnd, int(f.DataOffset+f.Tensors[i].Offset+f.Tensors[i].Size))
	}
	if lastEnd >= len(b) {
		t.Fatalf("fixture has no padding after its last tensor (%d of %d bytes)", lastEnd, len(b))
	}
	return b, f, lastEnd
}

// Every cut before the end of the last tensor's data fails with a format
// error that says the file is truncated; cuts in the final padding are fine.
func TestParseRejectsTruncationAtEveryByte(t *testing.T) {
	b, _, lastEnd := truncationFixture(t)
	for n := 0; n <= len(b); n++ {
		// A fresh copy of the prefix, so no bytes beyond the cut are reachable.
		cut := bytes.Clone(b[:n])
		f, err := parseNoPanic(t, "truncated", cut)
		if n >= lastEnd {
			if err != nil {
				t.Errorf("cut at %d (after the last tensor at %d): %v", n, lastEnd, err)
			}
			continue
		}
		if f != nil || err == nil {
			t.Errorf("cut at %d of %d: parsed", n, len(b))
			continue
		}
		if !errors.Is(err, errs.ErrFormat) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("cut at %d: error %q is not a format error naming the truncation", n, err)
		}
	}
}

// At each section boundary the error names the item that is missing.
func TestParseNamesTheMissingItemAtSectionBoundaries(t *testing.T) {
	raw := baseRaw()
	// A long first entry, so that cuts after it leave room for the counts
	// (3 entries of at least 13 bytes, 3 tensor infos of at least 32).
	raw.kvs[0] = kvStr("general.name", strings.Repeat("n", 100))
	b, l := raw.encode()
	k1 := l.kvEnds[0] + 8 + len("llama.block_count")
	k2 := l.kvEnds[1] + 8 + len("tokenizer.ggml.tokens")
	cases := []struct {
		at   int
		want string
	}{
		{0, "header: magic"},
		{4, "header: version"},
		{8, "header: tensor count"},
		{16, "header: metadata count"},
		{l.header, "metadata count 3 does not fit in the 0 bytes"},
		{l.header + 13*3, "tensor count 3 does not fit in the 39 bytes"},
		{l.header + 32*3, `metadata entry 0 ("general.name"): string`},
		{l.kvEnds[0], "metadata entry 1: key length"},
		{l.kvEnds[0] + 8, "metadata entry 1: key"},
		{k1, `metadata entry 1 ("llama.block_count"): type`},
		{k1 + 4, `metadata entry 1 ("llama.block_count"): u32 value`},
		{k2 + 4, `metadata entry 2 ("tokenizer.ggml.tokens"): array element type`},
		{k2 + 8, "array length"},
		{k2 + 20, "array of 2 string elements does not fit"},
		{l.kvEnds[2] - 1, "element 1: string"},
		{l.kvEnds[2], "tensor info 0: name length"},
		{l.kvEnds[2] + 9, `tensor info 0 ("v"): dimension count`},
		{l.kvEnds[2] + 13, `tensor info 0 ("v"): dimension 0`},
		{l.infoEnds[0] - 8, `tensor info 0 ("v"): offset`},
		{l.infoEnds[0], "tensor info 1: name length"},
		{l.infoEnds[2], "data section"},
		{l.dataStart, `tensor "v"`},
		{l.dataStart + 31, `tensor "v"`},
		{l.dataStart + 32, `tensor "m"`},
		{len(b) - 1, `tensor "t"`},
	}
	for _, tc := range cases {
		_, err := parseNoPanic(t, "boundary", bytes.Clone(b[:tc.at]))
		testutil.WantErr(t, "cut at "+itoa(tc.at), err, errs.ErrFormat, tc.want, "truncated")
	}
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

// Open reads through the memory mapping: cuts in each section fail the same
// way as Parse of the bytes.
func TestOpenRejectsTruncatedFiles(t *testing.T) {
	b, f, lastEnd := truncationFixture(t)
	dir := t.TempDir()
	cuts := []int{0, 3, 23, 24, 100, int(f.DataOffset) - 1, int(f.DataOffset), lastEnd - 1}
	for _, n := range cuts {
		p := filepath.Join(dir, "cut.gguf")
		must(t, os.WriteFile(p, b[:n], 0o644))
		of, err := Open(p)
		if of != nil {
			of.Close()
			t.Errorf("Open of a file cut at %d succeeded", n)
			continue
		}
		testutil.WantErr(t, "Open cut at "+itoa(n), err, errs.ErrFormat, "truncated", p)
	}
}
