// Package safetensors reads and writes safetensors files, the weight format
// of Hugging Face checkpoints: an 8-byte little-endian header length N, N
// bytes of JSON (a map from tensor name to {"dtype", "shape",
// "data_offsets": [begin, end]}, plus an optional "__metadata__" map of
// strings), then the data section that the offsets index.
//
// Open maps a file into memory and validates its header before anything is
// used: the header length against the file and MaxHeaderSize, the JSON
// (duplicate keys included), every dtype, that each shape's byte size equals
// its offset range, that every range lies inside the data section, and that
// no two tensors overlap. A malformed file gives a *FormatError whose Kind
// is one of the Err* values below; all of them wrap errs.ErrFormat.
//
// OpenIndex reads a sharded checkpoint (model.safetensors.index.json and
// its shards) as one Set. Writer writes files (for tests and export).
package safetensors

import (
	"errors"
	"fmt"
	"sort"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/internal/mmap"
)

// MaxHeaderSize is the largest header accepted (the limit of the reference
// implementation): a larger length is a corrupt or hostile file.
const MaxHeaderSize = 100_000_000

// Kinds of malformed files (the Kind of a FormatError).
var (
	// ErrTruncated: the file ends before its header (or the 8-byte length).
	ErrTruncated = errors.New("truncated file")
	// ErrHeaderTooLarge: the header length exceeds MaxHeaderSize.
	ErrHeaderTooLarge = errors.New("header too large")
	// ErrHeaderJSON: the header is not a JSON object of the expected form
	// (bad JSON, a duplicate key, a missing or mistyped field).
	ErrHeaderJSON = errors.New("malformed header JSON")
	// ErrDType: a tensor names a dtype this package does not know.
	ErrDType = errors.New("unknown dtype")
	// ErrShape: a shape's byte size differs from its offset range, or
	// overflows.
	ErrShape = errors.New("shape does not match data offsets")
	// ErrOffsets: a data range is reversed or ends past the data section.
	ErrOffsets = errors.New("data offsets out of range")
	// ErrOverlap: two tensors' data ranges overlap.
	ErrOverlap = errors.New("overlapping tensors")
	// ErrIndex: a sharded checkpoint's index is malformed or disagrees
	// with its shards.
	ErrIndex = errors.New("malformed index")
)

// FormatError describes a malformed file. errors.Is matches its Kind and
// errs.ErrFormat.
type FormatError struct {
	Kind   error  // one of the Err* values of this package
	Tensor string // the tensor concerned, "" when none
	Detail string
}

func (e *FormatError) Error() string {
	s := "safetensors: " + e.Kind.Error()
	if e.Tensor != "" {
		s += fmt.Sprintf(": tensor %q", e.Tensor)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the kind and errs.ErrFormat.
func (e *FormatError) Unwrap() []error { return []error{e.Kind, errs.ErrFormat} }

func formatErr(kind error, tensor, format string, a ...any) error {
	return &FormatError{Kind: kind, Tensor: tensor, Detail: fmt.Sprintf(format, a...)}
}

// Tensor describes one tensor of a file.
type Tensor struct {
	Name  string
	DType DType
	// Shape is in the file's order: row-major, the last dimension varies
	// fastest (the reverse of GGUF's order).
	Shape []uint64
	// Begin and End are byte offsets into the data section.
	Begin, End uint64
}

// Elements is the number of elements (1 for a scalar of shape []).
func (t *Tensor) Elements() uint64 {
	n, _ := elements(t.Shape) // checked at parse
	return n
}

// File is a parsed safetensors file; tensor data stays in the mapping until
// Close.
type File struct {
	// Tensors in header order.
	Tensors []Tensor
	// Metadata is the header's "__metadata__" (nil when absent).
	Metadata map[string]string
	// Size is the file size in bytes.
	Size uint64

	data   []byte // the data section
	byName map[string]int
	unmap  func() error
}

// Open maps path into memory and parses it.
func Open(path string) (*File, error) {
	data, unmap, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}

// Parse parses a whole file held in memory; the File refers to data.
func Parse(data []byte) (*File, error) {
	h, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	f := &File{Tensors: h.tensors, Metadata: h.metadata, Size: uint64(len(data)), data: data[h.dataStart:]}
	f.byName = make(map[string]int, len(f.Tensors))
	for i := range f.Tensors {
		f.byName[f.Tensors[i].Name] = i
	}
	return f, nil
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	i, ok := f.byName[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, len(f.Tensors))
	for i := range f.Tensors {
		names[i] = f.Tensors[i].Name
	}
	sort.Strings(names)
	return names
}

// Data returns the bytes of t (a tensor of f), in place in the mapping.
func (f *File) Data(t *Tensor) []byte { return f.data[t.Begin:t.End:t.End] }

// Close unmaps the file; its tensor data must not be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	return u()
}
