package gguf

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"

	"github.com/bitnet-dev/bitnet/errs"
)

// fuzzSeeds are small valid files (every value type, nested arrays, several
// tensor types, custom alignment, version 2, no tensors) and a few
// corrupted ones.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, align := range []uint64{32, 64} {
		w, _ := sampleWriter(tb, align)
		seeds = append(seeds, writeBytes(tb, w))
	}
	seeds = append(seeds, baseRaw().bytes())
	v2 := baseRaw()
	v2.version = 2
	seeds = append(seeds, v2.bytes())
	bitnet := baseRaw()
	bitnet.kvs[0] = kvStr("general.architecture", "bitnet-b1.58")
	bitnet.tensors[2] = rawTensor{"w", []uint64{128, 2}, 36, 128} // I2_S, 96 bytes
	bitnet.data = append(bitnet.data[:128], randBytes(4, 96)...)
	seeds = append(seeds, bitnet.bytes())
	tokOnly := NewWriter()
	must(tb, tokOnly.Set("tokenizer.ggml.tokens", []string{"<unk>", "a", "b"}))
	must(tb, tokOnly.Set("tokenizer.ggml.scores", []float32{0, -1, -2}))
	must(tb, tokOnly.Set("x.nested", []Value{MustValue([]Value{MustValue([]bool{true})})}))
	seeds = append(seeds, writeBytes(tb, tokOnly))
	empty := rawFile{}
	seeds = append(seeds, empty.bytes())

	base := baseRaw().bytes()
	seeds = append(seeds, base[:len(base)/2], base[:30])
	for _, bf := range badFiles() {
		switch bf.name {
		case "version 1", "offset not aligned", "same offset", "duplicate key", "bool byte 2", "arrays nested 5 deep", "dims overflow u64":
			seeds = append(seeds, bf.b)
		}
	}
	return seeds
}

func TestFuzzSeedsPassTheFuzzProperty(t *testing.T) {
	for _, b := range fuzzSeeds(t) {
		checkParseProperty(t, b)
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(checkParseProperty)
}

// checkParseProperty: Parse never panics and fails only with a format or
// unsupported error; a parsed file's tensor data lies inside the buffer; and
// writing the parsed file again gives a file that parses to the same
// metadata, tensor table and tensor bytes.
func checkParseProperty(t *testing.T, b []byte) {
	f, err := Parse(b)
	if err != nil {
		if !errors.Is(err, errs.ErrFormat) && !errors.Is(err, errs.ErrUnsupported) {
			t.Fatalf("error of no known kind: %v", err)
		}
		return
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		start := f.DataOffset + ti.Offset
		if start < f.DataOffset || start+ti.Size < start || start+ti.Size > uint64(len(b)) {
			t.Fatalf("tensor %q [%d, +%d) outside the %d-byte buffer", ti.Name, start, ti.Size, len(b))
		}
		d := f.Data(ti)
		if uint64(len(d)) != ti.Size {
			t.Fatalf("Data(%q) has %d bytes, want %d", ti.Name, len(d), ti.Size)
		}
		if len(d) > 0 && unsafe.SliceData(d) != &b[start] {
			t.Fatalf("Data(%q) does not point into the buffer at %d", ti.Name, start)
		}
	}

	var out bytes.Buffer
	if _, err := rewrite(t, f).WriteTo(&out); err != nil {
		t.Fatalf("re-writing a parsed file: %v", err)
	}
	g, err := Parse(out.Bytes())
	if err != nil {
		t.Fatalf("re-parsing a re-written file: %v", err)
	}
	if d := sameMetadata(f.Metadata, g.Metadata); d != "" {
		t.Fatalf("metadata changed through the writer: %s", d)
	}
	if g.Alignment != f.Alignment || len(g.Tensors) != len(f.Tensors) {
		t.Fatalf("alignment %d -> %d, %d -> %d tensors", f.Alignment, g.Alignment, len(f.Tensors), len(g.Tensors))
	}
	for i := range f.Tensors {
		a, c := &f.Tensors[i], &g.Tensors[i]
		if a.Name != c.Name || a.Type != c.Type || !equalDims(a.Dims, c.Dims) || a.Size != c.Size {
			t.Fatalf("tensor %d changed: %+v -> %+v", i, *a, *c)
		}
		if !bytes.Equal(f.Data(a), g.Data(c)) {
			t.Fatalf("tensor %q data changed through the writer", a.Name)
		}
	}
}
