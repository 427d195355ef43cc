package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/quant"
)

// checkSample verifies that f holds exactly what sampleWriter wrote.
func checkSample(t *testing.T, what string, f *File, align uint64, ts []sampleTensor) {
	t.Helper()
	if f.Version != 3 || f.Alignment != align {
		t.Errorf("%s: version %d alignment %d, want 3 and %d", what, f.Version, f.Alignment, align)
	}
	want := NewMetadata()
	for _, kv := range sampleValues() {
		want.Set(kv.Key, kv.Value)
	}
	if align != DefaultAlignment {
		want.Set(KeyAlignment, MustValue(uint32(align)))
	}
	if d := sameMetadata(f.Metadata, want); d != "" {
		t.Errorf("%s: metadata differs: %s", what, d)
	}
	if f.Architecture() != "llama" {
		t.Errorf("%s: Architecture() = %q", what, f.Architecture())
	}
	if f.DataOffset%align != 0 {
		t.Errorf("%s: data section at %d, not a multiple of %d", what, f.DataOffset, align)
	}
	if len(f.Tensors) != len(ts) {
		t.Fatalf("%s: %d tensors, want %d", what, len(f.Tensors), len(ts))
	}
	for i, st := range ts {
		ti := &f.Tensors[i]
		if ti.Name != st.name || ti.Type != st.typ || !equalDims(ti.Dims, st.dims) || ti.Size != uint64(len(st.data)) {
			t.Errorf("%s: tensor %d = %q %v %v size %d, want %q %v %v size %d", what, i,
				ti.Name, ti.Type, ti.Dims, ti.Size, st.name, st.typ, st.dims, len(st.data))
		}
		if (f.DataOffset+ti.Offset)%align != 0 {
			t.Errorf("%s: tensor %q at file offset %d, not a multiple of %d", what, ti.Name, f.DataOffset+ti.Offset, align)
		}
		if got := f.Data(ti); !bytes.Equal(got, st.data) {
			t.Errorf("%s: Data(%q) differs from the bytes written", what, ti.Name)
		}
		if byName, ok := f.Tensor(st.name); !ok || byName != ti {
			t.Errorf("%s: Tensor(%q) = %v, %v", what, st.name, byName, ok)
		}
	}
}

func equalDims(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWriterRoundTripPreservesEveryValueTypeAndTensor(t *testing.T) {
	for _, align := range []uint64{DefaultAlignment, 64} {
		w, ts := sampleWriter(t, align)
		b := writeBytes(t, w)
		if uint64(len(b))%align != 0 {
			t.Errorf("alignment %d: file of %d bytes does not end on an aligned boundary", align, len(b))
		}
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("alignment %d: Parse: %v", align, err)
		}
		checkSample(t, "Parse", f, align, ts)

		path := filepath.Join(t.TempDir(), "sample.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(onDisk, b) {
			t.Fatalf("alignment %d: WriteFile and WriteTo wrote different bytes", align)
		}
		of, err := Open(path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		checkSample(t, "Open", of, align, ts)
		if !bytes.Equal(of.Bytes(), b) || of.Size != uint64(len(b)) {
			t.Errorf("Open: Bytes()/Size do not match the file")
		}
		if err := of.Close(); err != nil {
			t.Fatal(err)
		}
		if err := of.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

// The writer's output must equal a byte-by-byte encoding made by the test's
// own encoder: header, entries in order, tensor infos with offsets packed at
// the alignment, zero padding, data.
func TestWriterMatchesIndependentEncoding(t *testing.T) {
	w := NewWriter()
	must(t, w.Set("general.architecture", "bitnet-b1.58"))
	must(t, w.Set("x.flag", true))
	must(t, w.Set("x.ids", []int32{-1, 2}))
	must(t, w.Set("x.words", []string{"ab", ""}))
	must(t, w.Set("x.nested", []Value{MustValue([]uint8{9}), MustValue([]uint8{})}))
	must(t, w.Set(KeyAlignment, 16))
	f32 := randBytes(1, 12)
	i2s := randBytes(2, 256/4+32)
	tq2 := randBytes(3, 66)
	must(t, w.AddTensor("n", quant.F32, []uint64{3}, f32))
	must(t, w.AddTensor("w", quant.I2_S, []uint64{128, 2}, i2s))
	must(t, w.AddTensor("q", quant.TQ2_0, []uint64{256, 1}, tq2))

	var data enc
	data.raw(f32)
	data.pad(16) // 12 -> 16
	data.raw(i2s)
	data.pad(16) // 16+96 = 112
	data.raw(tq2)
	data.pad(16) // 112+66 -> 192
	want := rawFile{
		kvs: []rawKV{
			kvStr("general.architecture", "bitnet-b1.58"),
			{"x.flag", uint32(TypeBool), vU8(1)},
			{"x.ids", uint32(TypeArray), vArr(uint32(TypeInt32), 2, vU32(0xffffffff), vU32(2))},
			{"x.words", uint32(TypeArray), vArr(uint32(TypeString), 2, vStr("ab"), vStr(""))},
			{"x.nested", uint32(TypeArray), vArr(uint32(TypeArray), 2,
				vArr(uint32(TypeUint8), 1, vU8(9)), vArr(uint32(TypeUint8), 0))},
			kvU32(KeyAlignment, 16),
		},
		tensors: []rawTensor{
			{"n", []uint64{3}, 0, 0},
			{"w", []uint64{128, 2}, 36, 16},
			{"q", []uint64{256, 1}, 35, 112},
		},
		align: 16,
		data:  data,
	}.bytes()
	if got := writeBytes(t, w); !bytes.Equal(got, want) {
		t.Fatalf("writer output differs from the independent encoding:\n got %x\nwant %x", got, want)
	}
	f, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	if ti, _ := f.Tensor("w"); ti.Type != quant.I2_S || ti.Size != 96 || !bytes.Equal(f.Data(ti), i2s) {
		t.Fatalf("I2_S tensor read back as %v size %d", ti.Type, ti.Size)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriterAlignsEveryTensorForEachAlignment(t *testing.T) {
	for _, align := range []uint64{1, 2, 8, 32, 128, 4096} {
		w, ts := sampleWriter(t, align)
		f, err := Parse(writeBytes(t, w))
		if err != nil {
			t.Fatalf("alignment %d: %v", align, err)
		}
		checkSample(t, "alignment", f, align, ts)
		_, recorded := f.Metadata.Get(KeyAlignment)
		if recorded != (align != DefaultAlignment) {
			t.Errorf("alignment %d: %s recorded = %v", align, KeyAlignment, recorded)
		}
	}
}

// Entries copied straight into Writer.Metadata (as when re-writing a parsed
// file) must set the alignment the data is written with.
func TestWriterTakesAlignmentFromMetadata(t *testing.T) {
	w, ts := sampleWriter(t, DefaultAlignment)
	w.Metadata.Set(KeyAlignment, MustValue(uint32(256)))
	f, err := Parse(writeBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, "metadata alignment", f, 256, ts)
}

func TestAddTensorFuncFillsAZeroedBufferOfTheTensorSize(t *testing.T) {
	w := NewWriter()
	var sizes []int
	must(t, w.AddTensorFunc("big", quant.Q8_0, []uint64{32, 4}, func(dst []byte) error {
		sizes = append(sizes, len(dst))
		for i := range dst {
			dst[i] = 0xff
		}
		return nil
	}))
	must(t, w.AddTensorFunc("small", quant.F32, []uint64{4}, func(dst []byte) error {
		sizes = append(sizes, len(dst))
		dst[0] = 7 // the rest is left as given
		return nil
	}))
	f, err := Parse(writeBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0] != 136 || sizes[1] != 16 {
		t.Fatalf("fill buffers of sizes %v, want [136 16]", sizes)
	}
	big, _ := f.Tensor("big")
	if !bytes.Equal(f.Data(big), bytes.Repeat([]byte{0xff}, 136)) {
		t.Errorf("big tensor data not as filled")
	}
	small, _ := f.Tensor("small")
	if want := append([]byte{7}, make([]byte, 15)...); !bytes.Equal(f.Data(small), want) {
		t.Errorf("small tensor = %x, want %x (bytes left by fill must be zero)", f.Data(small), want)
	}
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileLeavesNoTempFileWhenFillFails(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.gguf")
	existing := filepath.Join(dir, "existing.gguf")
	must(t, os.WriteFile(existing, []byte("old content"), 0o644))

	for _, path := range []string{fresh, existing} {
		w, _ := sampleWriter(t, 64)
		must(t, w.AddTensorFunc("z.fails", quant.F32, []uint64{4}, func([]byte) error { return errFillTest }))
		err := w.WriteFile(path)
		testutil.WantErr(t, "failing fill", err, errFillTest, "z.fails", path)
	}
	if names := listDir(t, dir); len(names) != 1 || names[0] != "existing.gguf" {
		t.Fatalf("directory holds %v after failed writes, want only existing.gguf", names)
	}
	if b, _ := os.ReadFile(existing); string(b) != "old content" {
		t.Fatalf("failed write changed the existing file to %q", b)
	}

	// A successful write replaces the file and leaves nothing else behind.
	w, ts := sampleWriter(t, 64)
	must(t, w.WriteFile(existing))
	if names := listDir(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v after a successful write", names)
	}
	f, err := Open(existing)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkSample(t, "replaced file", f, 64, ts)
}

var errFillTest = &fillError{}

type fillError struct{}

func (*fillError) Error() string { return "fill failed on purpose" }

func TestWriteFileIntoMissingDirectoryFails(t *testing.T) {
	w, _ := sampleWriter(t, 32)
	if err := w.WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir", "x.gguf")); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
}

// A file without tensors ends right after its metadata, as gguf-py writes
// tokenizer-only files (no padding for a data section that is empty).
func TestWriterWritesNoPaddingWithoutTensors(t *testing.T) {
	w := NewWriter()
	must(t, w.Set("general.architecture", "llama"))
	must(t, w.Set("tokenizer.ggml.tokens", []string{"a", "b", "c"}))
	must(t, w.SetAlignment(1<<20))
	got := writeBytes(t, w)
	want := rawFile{
		kvs: []rawKV{
			kvStr("general.architecture", "llama"),
			{"tokenizer.ggml.tokens", uint32(TypeArray), vArr(uint32(TypeString), 3, vStr("a"), vStr("b"), vStr("c"))},
			kvU32(KeyAlignment, 1<<20),
		},
		noPad: true,
	}.bytes()
	if !bytes.Equal(got, want) {
		t.Fatalf("tensorless file:\n got %x\nwant %x", got, want)
	}
	f, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 0 || f.Metadata.Len() != 3 {
		t.Fatalf("parsed %d tensors, %d entries", len(f.Tensors), f.Metadata.Len())
	}
}

func TestParseAcceptsVersion2(t *testing.T) {
	raw := baseRaw()
	raw.version = 2
	f, err := Parse(raw.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || len(f.Tensors) != 3 {
		t.Fatalf("version %d, %d tensors", f.Version, len(f.Tensors))
	}
}

func TestParseAcceptsEmptyTensorsAnywhereAligned(t *testing.T) {
	raw := baseRaw()
	raw.tensors = append(raw.tensors,
		rawTensor{"empty.a", []uint64{0, 4}, uint32(quant.F32), 0},     // inside "v"
		rawTensor{"empty.b", []uint64{32, 0}, uint32(quant.Q8_0), 192}, // at the end
	)
	f, err := Parse(raw.bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"empty.a", "empty.b"} {
		ti, ok := f.Tensor(name)
		if !ok || ti.Size != 0 || ti.Elements() != 0 || len(f.Data(ti)) != 0 {
			t.Errorf("%s: %+v", name, ti)
		}
	}
	if ti, _ := f.Tensor("m"); ti.Elements() != 64 {
		t.Errorf("Elements of [32 2] = %d", ti.Elements())
	}
}

func TestMXFP4IsReadAsUpstreamOutsideBitNetFiles(t *testing.T) {
	w := NewWriter()
	must(t, w.Set("general.architecture", "llama"))
	must(t, w.AddTensor("x", quant.MXFP4, []uint64{32}, make([]byte, 17)))
	f, err := Parse(writeBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if f.Tensors[0].Type != quant.MXFP4 {
		t.Fatalf("type %v, want MXFP4", f.Tensors[0].Type)
	}
}

func TestIsGGUFChecksTheMagic(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    bool
	}{{"GGUF\x03\x00\x00\x00", true}, {"GGUF", true}, {"GGU", false}, {"", false}, {"GGML....", false}} {
		p := filepath.Join(dir, "f")
		must(t, os.WriteFile(p, []byte(tc.content), 0o644))
		if got := IsGGUF(p); got != tc.want {
			t.Errorf("IsGGUF(%q) = %v", tc.content, got)
		}
	}
	if IsGGUF(filepath.Join(dir, "missing")) {
		t.Error("IsGGUF of a missing file = true")
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errFillTest
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteToReportsOutputErrors(t *testing.T) {
	for _, limit := range []int{0, 100, 1 << 19} {
		w, _ := sampleWriter(t, 32)
		// A large tensor makes the output exceed the 1 MiB buffer.
		must(t, w.AddTensorFunc("big", quant.F32, []uint64{1 << 19}, func([]byte) error { return nil }))
		if _, err := w.WriteTo(&failingWriter{limit: limit}); !errors.Is(err, errFillTest) {
			t.Errorf("limit %d: WriteTo error %v, want the output's error", limit, err)
		}
	}
}
