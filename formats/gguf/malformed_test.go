package gguf

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// badFile is a malformed file and the error Parse must give for it.
type badFile struct {
	name   string
	b      []byte
	kind   error    // errs.ErrFormat or errs.ErrUnsupported
	substr []string // what the message must name
}

// withRaw returns baseRaw modified by edit, encoded.
func withRaw(edit func(*rawFile)) []byte {
	r := baseRaw()
	edit(&r)
	return r.bytes()
}

// patched returns the base file with b[at:] overwritten by p.
func patched(at int, p []byte) []byte {
	b := baseRaw().bytes()
	copy(b[at:], p)
	return b
}

func le32(x uint32) []byte { return binary.LittleEndian.AppendUint32(nil, x) }

// nested returns an array value nested depth levels deep around [u8 1].
func nested(depth int) []byte {
	v := vArr(uint32(TypeUint8), 1, vU8(1))
	for i := 1; i < depth; i++ {
		v = vArr(uint32(TypeArray), 1, v)
	}
	return v
}

func badFiles() []badFile {
	F, U := errs.ErrFormat, errs.ErrUnsupported
	tensor := func(name string, dims []uint64, typ uint32, off uint64) func(*rawFile) {
		return func(r *rawFile) { r.tensors = append(r.tensors, rawTensor{name, dims, typ, off}) }
	}
	setTensor := func(i int, edit func(*rawTensor)) func(*rawFile) {
		return func(r *rawFile) { edit(&r.tensors[i]) }
	}
	addKV := func(kv rawKV) func(*rawFile) {
		return func(r *rawFile) { r.kvs = append(r.kvs, kv) }
	}
	arch := func(a string) func(*rawFile) {
		return func(r *rawFile) { r.kvs[0] = kvStr("general.architecture", a) }
	}
	both := func(a, b func(*rawFile)) func(*rawFile) { return func(r *rawFile) { a(r); b(r) } }
	return []badFile{
		// (b) header
		{"wrong magic", patched(0, []byte("GGML")), F, []string{"not a GGUF file", "GGML"}},
		{"lower-case magic", patched(0, []byte("gguf")), F, []string{"not a GGUF file"}},
		{"version 1", patched(4, le32(1)), U, []string{"version 1"}},
		{"big-endian version 3", patched(4, []byte{0, 0, 0, 3}), U, []string{"big-endian", "version 3"}},
		{"big-endian version 2", patched(4, []byte{0, 0, 0, 2}), U, []string{"big-endian", "version 2"}},
		{"version 4", patched(4, le32(4)), U, []string{"unknown GGUF version 4"}},
		{"version 0", patched(4, le32(0)), U, []string{"unknown GGUF version 0"}},
		{"version 2^31", patched(4, le32(1<<31)), U, []string{"unknown GGUF version"}},

		// (c) offsets
		{"offset past the end", withRaw(setTensor(2, func(t *rawTensor) { t.off = 1 << 20 })), F, []string{`"t"`, "past the end"}},
		{"offset just past the end", withRaw(setTensor(2, func(t *rawTensor) { t.off = 160 })), F, []string{`"t"`, "past the end"}},
		{"offset + size overflows", withRaw(setTensor(2, func(t *rawTensor) { t.off = math.MaxUint64 - 31 })), F, []string{`"t"`, "past the end"}},
		{"offset not aligned", withRaw(setTensor(1, func(t *rawTensor) { t.off = 33 })), F, []string{`"m"`, "not a multiple of the alignment 32"}},
		{"offset not aligned to 64", withRaw(both(addKV(kvU32(KeyAlignment, 64)), setTensor(1, func(t *rawTensor) { t.off = 32 }))), F, []string{"alignment 64"}},
		{"data section past the end", withRaw(func(r *rawFile) { r.noPad = true }), F, []string{"data section", "truncated"}},

		// (d) dimensions
		{"dims overflow u64", withRaw(tensor("big", []uint64{1 << 32, 1 << 32, 2}, 0, 256)), F, []string{`"big"`, "overflows"}},
		{"dims overflow in bytes", withRaw(tensor("big", []uint64{1 << 62, 2}, 0, 256)), F, []string{`"big"`, "overflows"}},
		{"dim above int64", withRaw(tensor("big", []uint64{1 << 63}, 0, 256)), F, []string{`"big"`, "dimension 0", "out of range"}},
		{"dims product past the end", withRaw(tensor("big", []uint64{1 << 20, 1 << 20}, 0, 256)), F, []string{`"big"`, "past the end"}},
		{"n_dims 0", withRaw(tensor("nodim", nil, 0, 256)), F, []string{`"nodim"`, "0 dimensions"}},
		{"n_dims 5", withRaw(tensor("fivedim", []uint64{1, 1, 1, 1, 1}, 0, 256)), F, []string{`"fivedim"`, "5 dimensions"}},
		{"n_dims 2^32-1", nDimsPatched(math.MaxUint32), F, []string{`"huge"`, "4294967295 dimensions"}},
		{"row not a block multiple", withRaw(setTensor(1, func(t *rawTensor) { t.dims = []uint64{33, 2} })), F, []string{`"m"`, "block size"}},
		{"I2_S not a multiple of 128", withRaw(tensor("i2s", []uint64{64}, 36, 224)), F, []string{`"i2s"`, "128"}},

		// (e) tensor types
		{"type 99", withRaw(setTensor(0, func(t *rawTensor) { t.typ = 99 })), U, []string{`"v"`, "unknown tensor type id 99"}},
		{"type 2^32-1", withRaw(setTensor(0, func(t *rawTensor) { t.typ = math.MaxUint32 })), U, []string{"unknown tensor type id 4294967295"}},
		{"type 37 (I8_S)", withRaw(setTensor(0, func(t *rawTensor) { t.typ = 37 })), U, []string{`"v"`, "I8_S"}},
		{"type 38 (TL1)", withRaw(setTensor(0, func(t *rawTensor) { t.typ = 38 })), U, []string{`"v"`, "TL1"}},
		{"type 39 in bitnet-b1.58 (TL2)", withRaw(both(arch("bitnet-b1.58"), setTensor(0, func(t *rawTensor) { t.typ = 39 }))), U, []string{`"v"`, "TL2"}},
		{"type 39 in bitnet-25 (TL2)", withRaw(both(arch("bitnet-25"), setTensor(0, func(t *rawTensor) { t.typ = 39 }))), U, []string{"TL2"}},
		{"type 39 in llama (MXFP4, row of 8)", withRaw(setTensor(0, func(t *rawTensor) { t.typ = 39 })), F, []string{"MXFP4", "block size"}},

		// (f) overlapping data
		{"same offset", withRaw(setTensor(1, func(t *rawTensor) { t.off = 0 })), F, []string{"overlap"}},
		{"tail overlaps next", withRaw(setTensor(2, func(t *rawTensor) { t.off = 96 })), F, []string{`"m"`, `"t"`, "overlap"}},
		{"tensor inside a long one past an empty one", withRaw(func(r *rawFile) {
			r.tensors[0] = rawTensor{"long", []uint64{48}, 0, 0} // bytes [0, 192)
			r.tensors[1] = rawTensor{"empty", []uint64{0}, 0, 32}
			r.tensors[2] = rawTensor{"inside", []uint64{8}, 0, 64}
		}), F, []string{`"long"`, `"inside"`, "overlap"}},
		{"tensor inside a long one, not adjacent", withRaw(func(r *rawFile) {
			r.tensors[0] = rawTensor{"long", []uint64{48}, 0, 0}
			r.tensors[1] = rawTensor{"a", []uint64{4}, 0, 32}
			r.tensors[2] = rawTensor{"b", []uint64{4}, 0, 128}
		}), F, []string{`"long"`, "overlap"}},

		// (h) duplicates and alignment
		{"duplicate key", withRaw(addKV(kvU32("llama.block_count", 2))), F, []string{`"llama.block_count"`, "duplicate key"}},
		{"duplicate tensor name", withRaw(tensor("m", []uint64{8}, 0, 224)), F, []string{`"m"`, "duplicate tensor name"}},
		{"alignment 0", withRaw(addKV(kvU32(KeyAlignment, 0))), F, []string{KeyAlignment, "power of two"}},
		{"alignment 3", withRaw(addKV(kvU32(KeyAlignment, 3))), F, []string{KeyAlignment, "power of two"}},
		{"alignment u64", withRaw(addKV(rawKV{KeyAlignment, uint32(TypeUint64), vU64(32)})), F, []string{KeyAlignment, "u32"}},
		{"alignment string", withRaw(addKV(kvStr(KeyAlignment, "32"))), F, []string{KeyAlignment, "u32"}},
		{"alignment i32", withRaw(addKV(rawKV{KeyAlignment, uint32(TypeInt32), vU32(32)})), F, []string{KeyAlignment, "u32"}},
		{"alignment 2^31 past the end", withRaw(addKV(kvU32(KeyAlignment, 1<<31))), F, []string{"data section", "truncated"}},

		// (i) values
		{"arrays nested 5 deep", withRaw(addKV(rawKV{"deep", uint32(TypeArray), nested(5)})), F, []string{`"deep"`, "nested more than 4"}},
		{"bool byte 2", withRaw(addKV(rawKV{"b", uint32(TypeBool), vU8(2)})), F, []string{`"b"`, "bool value 2"}},
		{"bool byte 255", withRaw(addKV(rawKV{"b", uint32(TypeBool), vU8(255)})), F, []string{"bool value 255"}},
		{"bool array element 3", withRaw(addKV(rawKV{"b", uint32(TypeArray), vArr(uint32(TypeBool), 3, vU8(1), vU8(0), vU8(3))})), F, []string{`"b"`, "element 2", "bool value 3"}},
		{"value type 13", withRaw(addKV(rawKV{"x", 13, vU32(0)})), F, []string{`"x"`, "unknown value type 13"}},
		{"array element type 13", withRaw(addKV(rawKV{"x", uint32(TypeArray), vArr(13, 0)})), F, []string{`"x"`, "unknown array element type 13"}},
		{"empty key", withRaw(addKV(kvU32("", 1))), F, []string{"empty key"}},
		{"empty tensor name", withRaw(tensor("", []uint64{8}, 0, 224)), F, []string{"invalid tensor name"}},
		{"tensor name not UTF-8", withRaw(tensor("\xff\xfe", []uint64{8}, 0, 224)), F, []string{"invalid tensor name"}},
	}
}

func TestParseRejectsMalformedFilesWithNamedErrors(t *testing.T) {
	for _, tc := range badFiles() {
		f, err := parseNoPanic(t, tc.name, tc.b)
		if f != nil {
			t.Errorf("%s: parsed without error", tc.name)
			continue
		}
		testutil.WantErr(t, tc.name, err, tc.kind, tc.substr...)
	}
}

// The 4-deep nesting limit is inclusive: the deepest accepted array parses.
func TestParseAcceptsArraysNestedFourDeep(t *testing.T) {
	b := withRaw(func(r *rawFile) { r.kvs = append(r.kvs, rawKV{"deep", uint32(TypeArray), nested(4)}) })
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := f.Metadata.Get("deep")
	for d := 0; d < 3; d++ {
		v = v.Data().([]Value)[0]
	}
	if a, ok := v.Data().([]uint8); !ok || len(a) != 1 || a[0] != 1 {
		t.Fatalf("innermost array = %v", v)
	}
}

func TestParseAcceptsTensorsStoredInAnotherOrder(t *testing.T) {
	b := withRaw(func(r *rawFile) {
		r.tensors[2].off = 0   // "t": [0, 66)
		r.tensors[1].off = 96  // "m": [96, 164)
		r.tensors[0].off = 192 // "v": [192, 224)
		r.data = randBytes(9, 224)
	})
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := f.Tensor("v")
	if v.Offset != 192 || f.Data(v)[0] != b[f.DataOffset+192] {
		t.Fatalf("tensor v at %d", v.Offset)
	}
}

// nDimsPatched is the base file plus a tensor "huge" whose n_dims field is n.
func nDimsPatched(n uint32) []byte {
	r := baseRaw()
	r.tensors = append(r.tensors, rawTensor{"huge", nil, 0, 224})
	b, l := r.encode()
	at := l.infoEnds[len(l.infoEnds)-2] + 8 + len("huge")
	binary.LittleEndian.PutUint32(b[at:], n)
	return b
}

func TestOpenRejectsMalformedFilesAndNamesThePath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range badFiles()[:3] {
		p := filepath.Join(dir, "bad.gguf")
		must(t, os.WriteFile(p, tc.b, 0o644))
		f, err := Open(p)
		if f != nil {
			t.Fatalf("%s: Open succeeded", tc.name)
		}
		testutil.WantErr(t, tc.name, err, tc.kind, append([]string{p}, tc.substr...)...)
	}
	empty := filepath.Join(dir, "empty.gguf")
	must(t, os.WriteFile(empty, nil, 0o644))
	_, err := Open(empty)
	testutil.WantErr(t, "empty file", err, errs.ErrFormat, "magic", "truncated")
	_, err = Open(dir)
	testutil.WantErr(t, "directory", err, errs.ErrInvalidArgument, "not a regular file")
	if _, err = Open(filepath.Join(dir, "missing.gguf")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// Type ids the registry knows only by size still parse, so files holding them
// can be inspected; only use of the data is refused elsewhere.
func TestParseKnowsSizesOfTypesWithoutCodecs(t *testing.T) {
	b := withRaw(func(r *rawFile) {
		r.tensors = []rawTensor{{"k", []uint64{256, 1}, uint32(quant.Q4_K), 0}}
		r.data = make([]byte, 144)
	})
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Tensors[0].Type != quant.Q4_K || f.Tensors[0].Size != 144 {
		t.Fatalf("%+v", f.Tensors[0])
	}
}

// A hostile key or name of megabytes must not be copied whole into error
// messages.
func TestErrorsCutLongKeysAndNames(t *testing.T) {
	long := strings.Repeat("é", 5000) // 10000 bytes
	b := withRaw(func(r *rawFile) {
		r.kvs = append(r.kvs, kvU32(long, 1), kvU32(long, 2))
	})
	_, err := Parse(b)
	testutil.WantErr(t, "duplicate long key", err, errs.ErrFormat, "duplicate key", "(10000 bytes)")
	if err != nil && len(err.Error()) > 400 {
		t.Errorf("error message of %d bytes", len(err.Error()))
	}
	b = withRaw(func(r *rawFile) { r.tensors[1].name = long; r.tensors[1].off = 3 })
	_, err = Parse(b)
	testutil.WantErr(t, "long tensor name", err, errs.ErrFormat, "not a multiple", "(10000 bytes)")
	if err != nil && len(err.Error()) > 400 {
		t.Errorf("error message of %d bytes", len(err.Error()))
	}
	if q := quoteShort(long); !utf8.ValidString(q) {
		t.Errorf("quoteShort cut a rune: %q", q)
	}
}

func TestTensorLookupOfMissingName(t *testing.T) {
	f, err := Parse(baseRaw().bytes())
	if err != nil {
		t.Fatal(err)
	}
	if ti, ok := f.Tensor("nope"); ok || ti != nil {
		t.Fatalf("Tensor(nope) = %v, %v", ti, ok)
	}
}
