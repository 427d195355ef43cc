package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// raw builds a file from a header text and n data bytes.
func raw(header string, n int) []byte {
	b := make([]byte, 8, 8+len(header)+n)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, n)...)
}

func sampleWriter(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter()
	w.Metadata = map[string]string{"format": "pt"}
	must(t, w.AddFloat32("a.weight", F32, []uint64{2, 3}, []float32{1, 2, 3, 4, 5, -6}))
	must(t, w.AddFloat32("b.norm", BF16, []uint64{4}, []float32{1, 0.5, -2, 3.25}))
	must(t, w.AddFloat32("c.half", F16, []uint64{2}, []float32{0.5, -1}))
	must(t, w.Add("d.packed", U8, []uint64{1, 3}, []byte{0x12, 0x34, 0x56}))
	must(t, w.AddFloat32("e.scalar", F32, []uint64{}, []float32{7}))
	must(t, w.Add("f.empty", I32, []uint64{0, 4}, nil))
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriterOutputParsesBackWithSameTensorsAndMetadata(t *testing.T) {
	b, err := sampleWriter(t).Bytes()
	must(t, err)
	if hl := binary.LittleEndian.Uint64(b); (8+hl)%8 != 0 {
		t.Errorf("header length %d leaves the data section unaligned", hl)
	}
	f, err := Parse(b)
	must(t, err)
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	if got := strings.Join(f.Names(), ","); got != "a.weight,b.norm,c.half,d.packed,e.scalar,f.empty" {
		t.Fatalf("names %s", got)
	}
	check := func(name string, want []float32) {
		t.Helper()
		tn, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		got, err := f.Float32s(tn)
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", name, got, want)
			}
		}
	}
	check("a.weight", []float32{1, 2, 3, 4, 5, -6})
	check("b.norm", []float32{1, 0.5, -2, 3.25})
	check("c.half", []float32{0.5, -1})
	check("e.scalar", []float32{7})
	p, _ := f.Tensor("d.packed")
	if !bytes.Equal(f.Data(p), []byte{0x12, 0x34, 0x56}) || p.Elements() != 3 {
		t.Errorf("d.packed data %x", f.Data(p))
	}
	for i := range f.Tensors {
		tn := &f.Tensors[i]
		if tn.Begin%tn.DType.Size() != 0 {
			t.Errorf("%s starts at %d, not a multiple of its element size", tn.Name, tn.Begin)
		}
	}
}

func TestOpenMapsAFileAndWriteFileLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.safetensors")
	must(t, sampleWriter(t).WriteFile(p))
	f, err := Open(p)
	must(t, err)
	defer f.Close()
	if len(f.Tensors) != 6 {
		t.Fatalf("%d tensors", len(f.Tensors))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the file", len(entries))
	}
}

func TestBF16EncodingRoundsToNearestEven(t *testing.T) {
	cases := []struct {
		in   uint32
		want uint16
	}{
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81},
		{0x7fc00001, 0x7fc0},
	}
	for _, c := range cases {
		if got := bf16RNE(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("bf16(%#x) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

func TestMalformedHeadersGiveTypedErrors(t *testing.T) {
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, MaxHeaderSize+1)
	cases := []struct {
		name string
		data []byte
		kind error
	}{
		{"short", []byte{1, 2, 3}, ErrTruncated},
		{"header past end", raw(`{}`, 0)[:9], ErrTruncated},
		{"huge header length", huge, ErrHeaderTooLarge},
		{"max uint64 header length", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, '{', '}'), ErrHeaderTooLarge},
		{"bad json", raw(`{"a": {"dtype": "F32", `, 0), ErrHeaderJSON},
		{"not an object", raw(`[1, 2]`, 0), ErrHeaderJSON},
		{"trailing data", raw(`{} {}`, 0), ErrHeaderJSON},
		{"duplicate key", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), ErrHeaderJSON},
		{"missing field", raw(`{"a":{"dtype":"U8","shape":[1]}}`, 1), ErrHeaderJSON},
		{"negative dim", raw(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, 1), ErrHeaderJSON},
		{"three offsets", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, 2), ErrHeaderJSON},
		{"bad metadata", raw(`{"__metadata__":{"x":1}}`, 0), ErrHeaderJSON},
		{"invalid utf8", raw("{\"\xff\":1}", 0), ErrHeaderJSON},
		{"unknown dtype", raw(`{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, 1), ErrDType},
		{"shape mismatch", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 8), ErrShape},
		{"shape overflow", raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, 8), ErrShape},
		{"reversed offsets", raw(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 8), ErrOffsets},
		{"out of file", raw(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, 8), ErrOffsets},
		{"huge offset", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}`, 8), ErrOffsets},
		{"overlap", raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 8), ErrOverlap},
		{"same range", raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, 8), ErrOverlap},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data)
			if err == nil {
				t.Fatal("parsed, want an error")
			}
			var fe *FormatError
			if !errors.Is(err, c.kind) || !errors.Is(err, errs.ErrFormat) || !errors.As(err, &fe) {
				t.Fatalf("error %q (%T), want kind %v wrapping errs.ErrFormat", err, err, c.kind)
			}
		})
	}
}

func TestHeaderEdgeCasesThatAreValid(t *testing.T) {
	cases := map[string][]byte{
		"empty object":          raw(`{}`, 0),
		"padding spaces":        raw(`{}      `, 0),
		"zero-size tensors":     raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}`, 0),
		"scalar":                raw(`{"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, 8),
		"gap between tensors":   raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}`, 8),
		"adjacent out of order": raw(`{"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 8),
	}
	for name, data := range cases {
		if _, err := Parse(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestWriterRejectsBadTensors(t *testing.T) {
	w := NewWriter()
	must(t, w.Add("x", U8, []uint64{2}, []byte{1, 2}))
	for _, err := range []error{
		w.Add("x", U8, []uint64{2}, []byte{1, 2}),
		w.Add("", U8, []uint64{2}, []byte{1, 2}),
		w.Add("y", U8, []uint64{3}, []byte{1, 2}),
		w.Add("z", "Q4", []uint64{2}, []byte{1, 2}),
		w.AddFloat32("v", U8, []uint64{1}, []float32{1}),
	} {
		if !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("error %v, want ErrInvalidArgument", err)
		}
	}
}

func TestFloat32sRefusesIntegerTensors(t *testing.T) {
	b, err := sampleWriter(t).Bytes()
	must(t, err)
	f, err := Parse(b)
	must(t, err)
	p, _ := f.Tensor("d.packed")
	if _, err := f.Float32s(p); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("error %v, want ErrUnsupported", err)
	}
}
