package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// Writer builds a GGUF v3 file. Metadata and tensor descriptions are added
// first; tensor data is produced while writing, one tensor at a time, so a
// file larger than memory can be written from a generator.
//
// The data alignment is read from Metadata (general.alignment, a u32 power of
// two; DefaultAlignment when absent) when the file is written, so entries set
// directly on Metadata, e.g. copied from a parsed file, are honoured.
type Writer struct {
	Metadata *Metadata
	tensors  []writerTensor
	names    map[string]bool
}

type writerTensor struct {
	info TensorInfo
	fill func(dst []byte) error
}

// NewWriter returns an empty writer with the default alignment.
func NewWriter() *Writer {
	return &Writer{Metadata: NewMetadata(), names: map[string]bool{}}
}

// SetAlignment sets the data alignment (a power of two) and records it in
// the metadata when it is not the default.
func (w *Writer) SetAlignment(a uint64) error {
	if a == 0 || a&(a-1) != 0 || a > math.MaxUint32 {
		return fmt.Errorf("gguf: alignment %d is not a power of two: %w", a, errs.ErrInvalidArgument)
	}
	if a == DefaultAlignment {
		w.Metadata.Delete(KeyAlignment)
	} else {
		w.Metadata.Set(KeyAlignment, Value{Type: TypeUint32, data: uint32(a)})
	}
	return nil
}

// Set adds a metadata entry from a Go value (see NewValue).
func (w *Writer) Set(key string, x any) error {
	if key == "" {
		return fmt.Errorf("gguf: empty metadata key: %w", errs.ErrInvalidArgument)
	}
	v, err := NewValue(x)
	if err != nil {
		return fmt.Errorf("gguf: metadata %q: %w", key, err)
	}
	if key == KeyAlignment {
		a, ok := v.Uint()
		if !ok {
			return fmt.Errorf("gguf: %s must be an unsigned integer: %w", KeyAlignment, errs.ErrInvalidArgument)
		}
		return w.SetAlignment(a)
	}
	w.Metadata.Set(key, v)
	return nil
}

// AddTensor adds a tensor whose encoded bytes are data.
func (w *Writer) AddTensor(name string, t quant.Type, dims []uint64, data []byte) error {
	size, err := w.addInfo(name, t, dims)
	if err != nil {
		return err
	}
	if uint64(len(data)) != size {
		w.tensors = w.tensors[:len(w.tensors)-1]
		delete(w.names, name)
		return fmt.Errorf("gguf: tensor %q: %d bytes given, %s %v needs %d: %w", name, len(data), t, dims, size, errs.ErrInvalidArgument)
	}
	w.tensors[len(w.tensors)-1].fill = func(dst []byte) error { copy(dst, data); return nil }
	return nil
}

// AddTensorFunc adds a tensor whose bytes fill writes into a buffer of the
// tensor's size when the file is written.
func (w *Writer) AddTensorFunc(name string, t quant.Type, dims []uint64, fill func(dst []byte) error) error {
	if fill == nil {
		return fmt.Errorf("gguf: tensor %q: nil fill function: %w", name, errs.ErrInvalidArgument)
	}
	if _, err := w.addInfo(name, t, dims); err != nil {
		return err
	}
	w.tensors[len(w.tensors)-1].fill = fill
	return nil
}

func (w *Writer) addInfo(name string, t quant.Type, dims []uint64) (uint64, error) {
	if name == "" || w.names[name] || !utf8.ValidString(name) {
		return 0, fmt.Errorf("gguf: tensor name %s is empty, not UTF-8 or already used: %w", quoteShort(name), errs.ErrInvalidArgument)
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return 0, fmt.Errorf("gguf: tensor %q: %d dimensions, must be 1..%d: %w", name, len(dims), MaxDims, errs.ErrInvalidArgument)
	}
	for d, n := range dims {
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("gguf: tensor %q: dimension %d = %d is out of range: %w", name, d, n, errs.ErrInvalidArgument)
		}
	}
	size, err := quant.TensorBytes(t, dims)
	if errors.Is(err, errs.ErrFormat) {
		// A shape the type cannot hold is the caller's mistake here, not a
		// malformed file.
		msg := strings.TrimSuffix(err.Error(), ": "+errs.ErrFormat.Error())
		return 0, fmt.Errorf("gguf: tensor %q: %s %v: %s: %w", name, t, dims, msg, errs.ErrInvalidArgument)
	}
	if err != nil {
		return 0, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, writerTensor{info: TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: t, Size: size}})
	return size, nil
}

// alignment returns the data alignment recorded in the metadata.
func (w *Writer) alignment() (uint64, error) {
	v, ok := w.Metadata.Get(KeyAlignment)
	if !ok {
		return DefaultAlignment, nil
	}
	a, _ := v.Uint()
	if v.Type != TypeUint32 || a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("gguf: metadata %s = %v: must be a u32 power of two: %w", KeyAlignment, v, errs.ErrInvalidArgument)
	}
	return a, nil
}

// check verifies, before anything is written, that the file will parse:
// keys are non-empty, values are well formed, and no tensor type id means
// something else in the file's architecture.
func (w *Writer) check() error {
	for _, kv := range w.Metadata.Entries() {
		if kv.Key == "" {
			return fmt.Errorf("gguf: empty metadata key: %w", errs.ErrInvalidArgument)
		}
		if err := checkValue(kv.Value, 0); err != nil {
			return fmt.Errorf("gguf: metadata %s: %w", quoteShort(kv.Key), err)
		}
	}
	arch, _ := w.Metadata.String("general.architecture")
	fork := microsoftFork(arch)
	for i := range w.tensors {
		t := &w.tensors[i].info
		if got, err := quant.FromFileID(t.Type.FileID(), fork); err != nil || got != t.Type {
			return fmt.Errorf("gguf: tensor %q: type %v cannot be stored in a file of architecture %q: %w", t.Name, t.Type, arch, errs.ErrInvalidArgument)
		}
	}
	return nil
}

// WriteTo writes the file to out. Nothing is written when the metadata or
// the tensor table is invalid.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	align, err := w.alignment()
	if err != nil {
		return 0, err
	}
	if err := w.check(); err != nil {
		return 0, err
	}
	cw := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	e := &encoder{w: cw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(w.Metadata.Len()))
	for _, kv := range w.Metadata.Entries() {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	off := uint64(0)
	maxSize := uint64(0)
	for i := range w.tensors {
		t := &w.tensors[i].info
		t.Offset = off
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(t.Type.FileID())
		e.u64(t.Offset)
		off = alignUp(off+t.Size, align)
		maxSize = max(maxSize, t.Size)
	}
	// A file without tensors has no data section to align (as gguf-py
	// writes it); padding it would only waste up to an alignment of bytes.
	if len(w.tensors) > 0 {
		e.pad(align)
	}
	if e.err != nil {
		return cw.n, e.err
	}
	buf := make([]byte, maxSize)
	for i := range w.tensors {
		t := &w.tensors[i]
		b := buf[:t.info.Size]
		clear(b)
		if err := t.fill(b); err != nil {
			return cw.n, fmt.Errorf("gguf: tensor %q: %w", t.info.Name, err)
		}
		e.raw(b)
		e.pad(align)
		if e.err != nil {
			return cw.n, e.err
		}
	}
	if err := cw.w.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// WriteFile writes the file to path atomically: into a temporary file in the
// same directory, flushed to disk and renamed into place when complete; on
// any failure the temporary file is removed and path is left untouched.
func (w *Writer) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	_, werr := w.WriteTo(tmp)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		// CreateTemp makes the file private; a model file is not.
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("gguf: write %s: %w", path, werr)
	}
	return nil
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian values and remembers the first error.
type encoder struct {
	w   *countWriter
	err error
	buf [8]byte
}

func (e *encoder) raw(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], x)
	e.raw(e.buf[:4])
}

func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], x)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *encoder) pad(a uint64) {
	if r := uint64(e.w.n) % a; r != 0 {
		e.raw(make([]byte, a-r))
	}
}

func (e *encoder) value(v Value) {
	if v.Type == TypeArray {
		e.u32(uint32(v.Elem))
		e.u64(uint64(v.Len()))
		for i := 0; i < v.Len(); i++ {
			e.value(v.index(i))
		}
		return
	}
	switch x := v.data.(type) {
	case uint8:
		e.raw([]byte{x})
	case int8:
		e.raw([]byte{byte(x)})
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		e.raw([]byte{b})
	case uint16:
		binary.LittleEndian.PutUint16(e.buf[:2], x)
		e.raw(e.buf[:2])
	case int16:
		binary.LittleEndian.PutUint16(e.buf[:2], uint16(x))
		e.raw(e.buf[:2])
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case string:
		e.str(x)
	default:
		if e.err == nil {
			e.err = fmt.Errorf("gguf: cannot encode %T: %w", x, errs.ErrInvalidArgument)
		}
	}
}

// checkValue verifies that v's type tags match the Go value it holds and that
// arrays nest no deeper than a reader accepts; depth counts enclosing arrays.
func checkValue(v Value, depth int) error {
	if v.Type != TypeArray {
		if t, ok := scalarType(v.data); !ok || t != v.Type {
			return fmt.Errorf("value tagged %v holds a Go %T: %w", v.Type, v.data, errs.ErrInvalidArgument)
		}
		return nil
	}
	if depth >= maxNesting {
		return fmt.Errorf("arrays nested more than %d deep: %w", maxNesting, errs.ErrInvalidArgument)
	}
	if v.Elem.size() == 0 && v.Elem != TypeString && v.Elem != TypeArray {
		return fmt.Errorf("array of unknown element type %v: %w", v.Elem, errs.ErrInvalidArgument)
	}
	switch a := v.data.(type) {
	case nil: // an empty array built as a zero Value
		return nil
	case []Value:
		if v.Elem != TypeArray {
			return fmt.Errorf("array tagged %v holds arrays: %w", v.Elem, errs.ErrInvalidArgument)
		}
		for i, e := range a {
			if e.Type != TypeArray {
				return fmt.Errorf("element %d of an array of arrays is a %v: %w", i, e.Type, errs.ErrInvalidArgument)
			}
			if err := checkValue(e, depth+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	}
	if t, ok := sliceType(v.data); !ok || t != v.Elem {
		return fmt.Errorf("array tagged %v holds a Go %T: %w", v.Elem, v.data, errs.ErrInvalidArgument)
	}
	return nil
}

// scalarType is the value type of a Go scalar as Value holds it.
func scalarType(x any) (ValueType, bool) {
	switch x.(type) {
	case uint8:
		return TypeUint8, true
	case int8:
		return TypeInt8, true
	case uint16:
		return TypeUint16, true
	case int16:
		return TypeInt16, true
	case uint32:
		return TypeUint32, true
	case int32:
		return TypeInt32, true
	case float32:
		return TypeFloat32, true
	case bool:
		return TypeBool, true
	case string:
		return TypeString, true
	case uint64:
		return TypeUint64, true
	case int64:
		return TypeInt64, true
	case float64:
		return TypeFloat64, true
	}
	return 0, false
}

// sliceType is the element type of a Go slice as an array Value holds it.
func sliceType(x any) (ValueType, bool) {
	switch x.(type) {
	case []uint8:
		return TypeUint8, true
	case []int8:
		return TypeInt8, true
	case []uint16:
		return TypeUint16, true
	case []int16:
		return TypeInt16, true
	case []uint32:
		return TypeUint32, true
	case []int32:
		return TypeInt32, true
	case []float32:
		return TypeFloat32, true
	case []bool:
		return TypeBool, true
	case []string:
		return TypeString, true
	case []uint64:
		return TypeUint64, true
	case []int64:
		return TypeInt64, true
	case []float64:
		return TypeFloat64, true
	case []Value:
		return TypeArray, true
	}
	return 0, false
}
