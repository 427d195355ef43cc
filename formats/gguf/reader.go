// Package gguf reads and writes GGUF files (versions 2 and 3, little-endian):
// the metadata table, the tensor table and the tensor data, which the reader
// leaves in place in a memory mapping of the file.
//
// Every count, length, offset and size read from a file is checked against
// the bytes actually present, with overflow-safe arithmetic, before it is
// used; a malformed file gives an error wrapping errs.ErrFormat (or
// errs.ErrUnsupported for well-formed files using unknown features) that
// names the problem and where it is.
package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/internal/mmap"
	"github.com/bitnet-dev/bitnet/quant"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is the most dimensions a tensor may have (ggml's limit).
const MaxDims = 4

// maxNesting bounds arrays of arrays, so a hostile file cannot recurse deeply.
const maxNesting = 4

// KeyAlignment is the metadata key holding the data alignment.
const KeyAlignment = "general.alignment"

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // ggml order: row length first
	Type   quant.Type
	Offset uint64 // from the start of the data section
	Size   uint64 // bytes
}

// Elements is the number of elements of the tensor.
func (t *TensorInfo) Elements() uint64 {
	n, _ := quant.Elements(t.Dims) // checked when the file was parsed
	return n
}

// File is a parsed GGUF file. Tensor data stays in the mapping until Close.
type File struct {
	Version    uint32
	Metadata   *Metadata
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset uint64 // absolute offset of the data section
	Size       uint64 // file size in bytes

	data   []byte
	byName map[string]int
	unmap  func() error
}

// Open maps path into memory and parses it.
func Open(path string) (*File, error) {
	data, unmap, err := mmap.Map(path)
	if err != nil {
		// Errors of the file system name the path already.
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		if unmap != nil {
			_ = unmap()
		}
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}

// IsGGUF reports whether the file at path starts with the GGUF magic.
func IsGGUF(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	var b [4]byte
	_, err = io.ReadFull(fh, b[:])
	return err == nil && string(b[:]) == Magic
}

// Close releases the mapping. Slices returned by Data are invalid afterwards.
func (f *File) Close() error {
	f.data = nil
	if f.unmap != nil {
		u := f.unmap
		f.unmap = nil
		return u()
	}
	return nil
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Data returns the bytes of t, in place in the mapping (read-only).
func (f *File) Data(t *TensorInfo) []byte {
	start := f.DataOffset + t.Offset
	return f.data[start : start+t.Size : start+t.Size]
}

// Bytes returns the whole file as mapped (read-only).
func (f *File) Bytes() []byte { return f.data }

// Architecture returns general.architecture ("" when absent).
func (f *File) Architecture() string {
	s, _ := f.Metadata.String("general.architecture")
	return s
}

// Parse parses a GGUF file held in b. The File refers to b for tensor data.
func Parse(b []byte) (*File, error) {
	r := &cursor{b: b}
	f := &File{Metadata: NewMetadata(), data: b, Size: uint64(len(b)), byName: map[string]int{}}

	magic, err := r.bytes(4, "header: magic")
	if err != nil {
		return nil, err
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("not a GGUF file: magic %q, want %q: %w", magic, Magic, errs.ErrFormat)
	}
	if f.Version, err = r.u32("header: version"); err != nil {
		return nil, err
	}
	switch swapped := bits.ReverseBytes32(f.Version); {
	case f.Version == 2 || f.Version == 3:
	case f.Version == 1:
		return nil, fmt.Errorf("GGUF version 1 is not supported (re-convert the model): %w", errs.ErrUnsupported)
	case swapped >= 1 && swapped <= 3:
		return nil, fmt.Errorf("big-endian GGUF (version %d) is not supported: %w", swapped, errs.ErrUnsupported)
	default:
		return nil, fmt.Errorf("unknown GGUF version %d: %w", f.Version, errs.ErrUnsupported)
	}
	nTensors, err := r.u64("header: tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := r.u64("header: metadata count")
	if err != nil {
		return nil, err
	}
	// Each entry takes at least 13 bytes, each tensor info at least 32.
	if nKV > uint64(r.remaining())/13 {
		return nil, fmt.Errorf("header: metadata count %d does not fit in the %d bytes left (truncated or corrupt count): %w", nKV, r.remaining(), errs.ErrFormat)
	}
	if nTensors > uint64(r.remaining())/32 {
		return nil, fmt.Errorf("header: tensor count %d does not fit in the %d bytes left (truncated or corrupt count): %w", nTensors, r.remaining(), errs.ErrFormat)
	}

	for i := uint64(0); i < nKV; i++ {
		where := fmt.Sprintf("metadata entry %d", i)
		key, err := r.str(where + ": key")
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, fmt.Errorf("%s: empty key: %w", where, errs.ErrFormat)
		}
		where = fmt.Sprintf("metadata entry %d (%s)", i, quoteShort(key))
		if f.Metadata.Has(key) {
			return nil, fmt.Errorf("%s: duplicate key: %w", where, errs.ErrFormat)
		}
		t, err := r.u32(where + ": type")
		if err != nil {
			return nil, err
		}
		v, err := r.value(ValueType(t), where, 0)
		if err != nil {
			return nil, err
		}
		f.Metadata.Set(key, v)
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Metadata.Get(KeyAlignment); ok {
		a, isUint := v.Uint()
		if !isUint || v.Type != TypeUint32 || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("metadata %s = %v: must be a u32 power of two: %w", KeyAlignment, v, errs.ErrFormat)
		}
		f.Alignment = a
	}

	msFork := microsoftFork(f.Architecture())
	// The count is bounded by the bytes left, but a hostile count would still
	// reserve a multiple of the file size: grow with what is actually read.
	f.Tensors = make([]TensorInfo, 0, min(nTensors, preallocLimit))
	for i := uint64(0); i < nTensors; i++ {
		t, err := r.tensorInfo(i, msFork)
		if err != nil {
			return nil, err
		}
		if _, dup := f.byName[t.Name]; dup {
			return nil, fmt.Errorf("tensor info %d: duplicate tensor name %s: %w", i, quoteShort(t.Name), errs.ErrFormat)
		}
		f.byName[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	// The data section starts at the next multiple of the alignment.
	f.DataOffset = alignUp(uint64(r.pos), f.Alignment)
	if len(f.Tensors) > 0 && f.DataOffset > f.Size {
		return nil, fmt.Errorf("data section: starts at %d, past the end of the %d-byte file (truncated): %w", f.DataOffset, f.Size, errs.ErrFormat)
	}
	if err := f.checkTensorData(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkTensorData verifies that every tensor lies aligned inside the data
// section and that no two tensors overlap.
func (f *File) checkTensorData() error {
	avail := uint64(0)
	if f.Size > f.DataOffset {
		avail = f.Size - f.DataOffset
	}
	order := make([]int, 0, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset%f.Alignment != 0 {
			return fmt.Errorf("tensor %s: data offset %d is not a multiple of the alignment %d: %w", quoteShort(t.Name), t.Offset, f.Alignment, errs.ErrFormat)
		}
		end, carry := bits.Add64(t.Offset, t.Size, 0)
		if carry != 0 || end > avail {
			return fmt.Errorf("tensor %s: data [%d, %d+%d) runs past the end of the data section (%d bytes; file truncated or offset corrupt): %w",
				quoteShort(t.Name), t.Offset, t.Offset, t.Size, avail, errs.ErrFormat)
		}
		if t.Size > 0 {
			order = append(order, i)
		}
	}
	// Empty tensors occupy no bytes and may sit anywhere. Among the others,
	// sorted by offset, each must start at or after the furthest end so far
	// (comparing neighbours only would miss a long tensor spanning several).
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	reach := -1 // index of the tensor ending furthest so far
	for _, k := range order {
		cur := &f.Tensors[k]
		if reach >= 0 {
			prev := &f.Tensors[reach]
			if prev.Offset+prev.Size > cur.Offset {
				return fmt.Errorf("tensors %s and %s overlap in the data section: %w", quoteShort(prev.Name), quoteShort(cur.Name), errs.ErrFormat)
			}
		}
		if reach < 0 || cur.Offset+cur.Size > f.Tensors[reach].Offset+f.Tensors[reach].Size {
			reach = k
		}
	}
	return nil
}

// microsoftFork reports whether a file of architecture arch comes from
// bitnet.cpp's fork of llama.cpp, where tensor type ids 36..39 are I2_S, I8_S,
// TL1 and TL2 ("bitnet", "bitnet-b1.58", "bitnet-25", ...).
func microsoftFork(arch string) bool { return strings.HasPrefix(arch, "bitnet") }

// preallocLimit caps the capacity reserved from a count read from a file;
// longer tables grow as their elements are actually read.
const preallocLimit = 1 << 12

// quoteShort quotes s for an error message, cutting very long strings (a
// hostile file may hold a key of megabytes).
func quoteShort(s string) string {
	const max = 80
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}

func alignUp(x, a uint64) uint64 {
	if r := x % a; r != 0 {
		return x + (a - r)
	}
	return x
}

// cursor reads little-endian values from a byte slice with bounds checks.
type cursor struct {
	b   []byte
	pos int
}

func (r *cursor) remaining() int { return len(r.b) - r.pos }

func (r *cursor) bytes(n uint64, what string) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, r.short(n, what)
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// short is the error for n bytes wanted at the cursor where fewer are left.
func (r *cursor) short(n uint64, what string) error {
	return fmt.Errorf("%s: needs %d bytes at offset %d, file has %d left (truncated): %w", what, n, r.pos, r.remaining(), errs.ErrFormat)
}

func (r *cursor) u32(what string) (uint32, error) {
	s, err := r.bytes(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(s), nil
}

func (r *cursor) u64(what string) (uint64, error) {
	s, err := r.bytes(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(s), nil
}

// str reads a string (u64 length, bytes). It is called once per vocabulary
// entry, so the context message is only built on error.
func (r *cursor) str(what string) (string, error) {
	if r.remaining() < 8 {
		return "", r.short(8, what+" length")
	}
	n := binary.LittleEndian.Uint64(r.b[r.pos:])
	r.pos += 8
	if n > uint64(r.remaining()) {
		return "", r.short(n, what)
	}
	s := string(r.b[r.pos : r.pos+int(n)])
	r.pos += int(n)
	return s, nil
}

// value reads a value of type t; depth counts enclosing arrays.
func (r *cursor) value(t ValueType, where string, depth int) (Value, error) {
	if t == TypeString {
		s, err := r.str(where + ": string")
		return Value{Type: TypeString, data: s}, err
	}
	if t == TypeArray {
		return r.array(where, depth)
	}
	size := t.size()
	if size == 0 {
		return Value{}, fmt.Errorf("%s: unknown value type %d: %w", where, uint32(t), errs.ErrFormat)
	}
	s, err := r.bytes(uint64(size), where+": "+t.String()+" value")
	if err != nil {
		return Value{}, err
	}
	return scalar(t, s, where)
}

func scalar(t ValueType, s []byte, where string) (Value, error) {
	v := Value{Type: t}
	switch t {
	case TypeUint8:
		v.data = s[0]
	case TypeInt8:
		v.data = int8(s[0])
	case TypeBool:
		if s[0] > 1 {
			return Value{}, fmt.Errorf("%s: bool value %d is neither 0 nor 1: %w", where, s[0], errs.ErrFormat)
		}
		v.data = s[0] == 1
	case TypeUint16:
		v.data = binary.LittleEndian.Uint16(s)
	case TypeInt16:
		v.data = int16(binary.LittleEndian.Uint16(s))
	case TypeUint32:
		v.data = binary.LittleEndian.Uint32(s)
	case TypeInt32:
		v.data = int32(binary.LittleEndian.Uint32(s))
	case TypeFloat32:
		v.data = math.Float32frombits(binary.LittleEndian.Uint32(s))
	case TypeUint64:
		v.data = binary.LittleEndian.Uint64(s)
	case TypeInt64:
		v.data = int64(binary.LittleEndian.Uint64(s))
	case TypeFloat64:
		v.data = math.Float64frombits(binary.LittleEndian.Uint64(s))
	}
	return v, nil
}

func (r *cursor) array(where string, depth int) (Value, error) {
	if depth >= maxNesting {
		return Value{}, fmt.Errorf("%s: arrays nested more than %d deep: %w", where, maxNesting, errs.ErrFormat)
	}
	et, err := r.u32(where + ": array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	n, err := r.u64(where + ": array length")
	if err != nil {
		return Value{}, err
	}
	// The smallest encoding of one element bounds the count before any
	// allocation: a hostile count cannot make us allocate more than the file.
	minSize := uint64(elem.size())
	switch elem {
	case TypeString:
		minSize = 8
	case TypeArray:
		minSize = 12
	}
	if minSize == 0 {
		return Value{}, fmt.Errorf("%s: unknown array element type %d: %w", where, et, errs.ErrFormat)
	}
	if n > uint64(r.remaining())/minSize {
		return Value{}, fmt.Errorf("%s: array of %d %s elements does not fit in the %d bytes left (truncated or corrupt length): %w",
			where, n, elem, r.remaining(), errs.ErrFormat)
	}
	v := Value{Type: TypeArray, Elem: elem}
	switch elem {
	case TypeString:
		// Strings take 16 bytes of memory for each 8 of file: reserve a
		// bounded capacity and let append grow with what is really read.
		a := make([]string, 0, min(n, preallocLimit))
		for i := uint64(0); i < n; i++ {
			s, err := r.str("string")
			if err != nil {
				return Value{}, fmt.Errorf("%s: element %d: %w", where, i, err)
			}
			a = append(a, s)
		}
		v.data = a
	case TypeArray:
		a := make([]Value, 0, min(n, preallocLimit))
		for i := uint64(0); i < n; i++ {
			e, err := r.array(fmt.Sprintf("%s: element %d", where, i), depth+1)
			if err != nil {
				return Value{}, err
			}
			a = append(a, e)
		}
		v.data = a
	default:
		raw, err := r.bytes(n*minSize, where+": array data")
		if err != nil {
			return Value{}, err
		}
		if v.data, err = decodeArray(elem, raw, int(n), where); err != nil {
			return Value{}, err
		}
	}
	return v, nil
}

func decodeArray(t ValueType, raw []byte, n int, where string) (any, error) {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return append([]uint8(nil), raw...), nil
	case TypeInt8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(raw[i])
		}
		return a, nil
	case TypeBool:
		a := make([]bool, n)
		for i := range a {
			if raw[i] > 1 {
				return nil, fmt.Errorf("%s: element %d: bool value %d is neither 0 nor 1: %w", where, i, raw[i], errs.ErrFormat)
			}
			a[i] = raw[i] == 1
		}
		return a, nil
	case TypeUint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = le.Uint16(raw[2*i:])
		}
		return a, nil
	case TypeInt16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le.Uint16(raw[2*i:]))
		}
		return a, nil
	case TypeUint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = le.Uint32(raw[4*i:])
		}
		return a, nil
	case TypeInt32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le.Uint32(raw[4*i:]))
		}
		return a, nil
	case TypeFloat32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return a, nil
	case TypeUint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = le.Uint64(raw[8*i:])
		}
		return a, nil
	case TypeInt64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le.Uint64(raw[8*i:]))
		}
		return a, nil
	case TypeFloat64:
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return a, nil
	}
	return nil, fmt.Errorf("%s: unknown array element type %d: %w", where, uint32(t), errs.ErrFormat)
}

func (r *cursor) tensorInfo(i uint64, msFork bool) (TensorInfo, error) {
	where := fmt.Sprintf("tensor info %d", i)
	name, err := r.str(where + ": name")
	if err != nil {
		return TensorInfo{}, err
	}
	if name == "" || !utf8.ValidString(name) {
		return TensorInfo{}, fmt.Errorf("%s: invalid tensor name %s: %w", where, quoteShort(name), errs.ErrFormat)
	}
	where = fmt.Sprintf("tensor info %d (%s)", i, quoteShort(name))
	nd, err := r.u32(where + ": dimension count")
	if err != nil {
		return TensorInfo{}, err
	}
	if nd == 0 || nd > MaxDims {
		return TensorInfo{}, fmt.Errorf("%s: %d dimensions, must be 1..%d: %w", where, nd, MaxDims, errs.ErrFormat)
	}
	dims := make([]uint64, nd)
	for d := range dims {
		if dims[d], err = r.u64(fmt.Sprintf("%s: dimension %d", where, d)); err != nil {
			return TensorInfo{}, err
		}
		if dims[d] > math.MaxInt64 {
			return TensorInfo{}, fmt.Errorf("%s: dimension %d = %d is out of range: %w", where, d, dims[d], errs.ErrFormat)
		}
	}
	tid, err := r.u32(where + ": type")
	if err != nil {
		return TensorInfo{}, err
	}
	off, err := r.u64(where + ": offset")
	if err != nil {
		return TensorInfo{}, err
	}
	typ, err := quant.FromFileID(tid, msFork)
	if err != nil {
		return TensorInfo{}, fmt.Errorf("%s: %w", where, err)
	}
	size, err := quant.TensorBytes(typ, dims)
	if err != nil {
		return TensorInfo{}, fmt.Errorf("%s: %w", where, err)
	}
	return TensorInfo{Name: name, Dims: dims, Type: typ, Offset: off, Size: size}, nil
}
