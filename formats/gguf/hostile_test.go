package gguf

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/bitnet-dev/bitnet/internal/testutil"

	"github.com/bitnet-dev/bitnet/errs"
)

// allocatedBy returns the bytes allocated while fn runs.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const allocBudget = 1 << 20 // bytes a hostile small file may cost to reject

// hostileFiles are files whose counts or lengths claim far more than the
// file holds. Each must fail fast, before allocating for the claim.
func hostileFiles() []badFile {
	F := errs.ErrFormat
	withKV := func(kv rawKV) []byte {
		return withRaw(func(r *rawFile) { r.kvs = append(r.kvs, kv) })
	}
	// A string of hostile length: u64 length then a few bytes.
	hugeStr := func(n uint64) []byte { var e enc; e.u64(n); e.raw([]byte("abc")); return e }
	return []badFile{
		{"metadata count 2^62", withRaw(func(r *rawFile) { r.nKV = u64p(1 << 62) }), F, []string{"metadata count 4611686018427387904"}},
		{"metadata count 2^64-1", withRaw(func(r *rawFile) { r.nKV = u64p(^uint64(0)) }), F, []string{"metadata count"}},
		{"tensor count 2^62", withRaw(func(r *rawFile) { r.nTensors = u64p(1 << 62) }), F, []string{"tensor count 4611686018427387904"}},
		{"tensor count 2^64-1", withRaw(func(r *rawFile) { r.nTensors = u64p(^uint64(0)) }), F, []string{"tensor count"}},
		{"u8 array length 2^60", withKV(rawKV{"a", uint32(TypeArray), vArr(uint32(TypeUint8), 1<<60, vU8(1))}), F, []string{`"a"`, "array of 1152921504606846976 u8"}},
		{"u64 array length 2^60", withKV(rawKV{"a", uint32(TypeArray), vArr(uint32(TypeUint64), 1<<60)}), F, []string{"array of 1152921504606846976 u64"}},
		{"u64 array length 2^61 (bytes overflow)", withKV(rawKV{"a", uint32(TypeArray), vArr(uint32(TypeUint64), 1<<61)}), F, []string{"array of 2305843009213693952 u64"}},
		{"string array length 2^60", withKV(rawKV{"a", uint32(TypeArray), vArr(uint32(TypeString), 1<<60, vStr("x"))}), F, []string{"array of 1152921504606846976 string"}},
		{"array-of-arrays length 2^60", withKV(rawKV{"a", uint32(TypeArray), vArr(uint32(TypeArray), 1<<60)}), F, []string{"array of 1152921504606846976 array"}},
		{"inner array length 2^60", withKV(rawKV{"a", uint32(TypeArray), vArr(uint32(TypeArray), 1, vArr(uint32(TypeInt32), 1<<60))}), F, []string{"element 0", "array of 1152921504606846976 i32"}},
		{"key length 2^63", keyLength(1 << 63), F, []string{"metadata entry 3: key", "needs 9223372036854775808"}},
		{"string value length 2^63", withKV(rawKV{"s", uint32(TypeString), hugeStr(1 << 63)}), F, []string{`"s"`, "needs 9223372036854775808 bytes"}},
		{"string value length 2^64-1", withKV(rawKV{"s", uint32(TypeString), hugeStr(^uint64(0))}), F, []string{"needs 18446744073709551615 bytes"}},
		{"string element length 2^63", withKV(rawKV{"a", uint32(TypeArray), vArr(uint32(TypeString), 2, vStr("ok"), hugeStr(1<<63))}), F, []string{`"a"`, "element 1", "needs 9223372036854775808"}},
		{"tensor name length 2^63", tensorNameLength(1 << 63), F, []string{"tensor info 3: name", "needs 9223372036854775808"}},
	}
}

// keyLength is the base file whose last entry's key length reads n.
func keyLength(n uint64) []byte {
	r := baseRaw()
	r.kvs = append(r.kvs, kvU32("k", 1))
	b, l := r.encode()
	binary.LittleEndian.PutUint64(b[l.kvEnds[len(l.kvEnds)-2]:], n)
	return b
}

// tensorNameLength is the base file plus a tensor whose name length reads n.
func tensorNameLength(n uint64) []byte {
	r := baseRaw()
	r.tensors = append(r.tensors, rawTensor{"x", []uint64{8}, 0, 224})
	b, l := r.encode()
	binary.LittleEndian.PutUint64(b[l.infoEnds[len(l.infoEnds)-2]:], n)
	return b
}

func TestParseRejectsHostileCountsWithoutLargeAllocations(t *testing.T) {
	cases := hostileFiles()
	for _, tc := range cases {
		var err error
		var f *File
		n := allocatedBy(func() { f, err = parseNoPanic(t, tc.name, tc.b) })
		if f != nil {
			t.Errorf("%s: parsed", tc.name)
			continue
		}
		testutil.WantErr(t, tc.name, err, tc.kind, tc.substr...)
		testutil.WantErr(t, tc.name, err, tc.kind, "truncated")
		if n > allocBudget {
			t.Errorf("%s: rejecting a %d-byte file allocated %d bytes", tc.name, len(tc.b), n)
		}
	}
}

// A count that fits in a large file must not reserve memory in proportion
// to the count before the elements are read: here 8 MiB of zeros after a
// string array whose second element claims 2^63 bytes, and a tensor count
// of 200k whose second tensor info is invalid (an empty name).
func TestParseGrowsTablesWithWhatIsRead(t *testing.T) {
	const room = 8 << 20
	strArr := func() []byte {
		r := baseRaw()
		r.kvs = append(r.kvs, rawKV{"big", uint32(TypeArray),
			vArr(uint32(TypeString), room/8, vStr("ok"), vU64(1<<63))})
		r.tensors = nil
		r.data = nil
		b := r.bytes()
		return append(b, make([]byte, room)...)
	}()
	tensors := func() []byte {
		r := baseRaw()
		r.nTensors = u64p(room / 40)
		r.tensors = r.tensors[:1]
		r.data = nil
		b := r.bytes()
		// The second tensor info has an empty name.
		return append(b, make([]byte, room)...)
	}()
	for _, tc := range []struct {
		name   string
		b      []byte
		substr string
	}{
		{"string array of 1M elements", strArr, "element 1"},
		{"200k tensor infos", tensors, "tensor info 1"},
	} {
		var err error
		n := allocatedBy(func() { _, err = parseNoPanic(t, tc.name, tc.b) })
		testutil.WantErr(t, tc.name, err, errs.ErrFormat, tc.substr)
		if n > allocBudget {
			t.Errorf("%s: rejecting the file allocated %d bytes", tc.name, n)
		}
	}
}
