package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/bitnet-dev/bitnet/errs"
)

// Writer collects tensors and writes a safetensors file. Tensors are laid
// out by decreasing element size, then by name, so every tensor starts at
// a multiple of its element size (the header is padded to 8 bytes).
type Writer struct {
	// Metadata becomes the header's "__metadata__" when not empty.
	Metadata map[string]string
	tensors  []wtensor
	names    map[string]bool
}

type wtensor struct {
	name  string
	dtype DType
	shape []uint64
	data  []byte
}

// NewWriter returns an empty writer.
func NewWriter() *Writer { return &Writer{names: map[string]bool{}} }

// Add adds a tensor; data holds its little-endian elements (kept, not
// copied, until the file is written).
func (w *Writer) Add(name string, d DType, shape []uint64, data []byte) error {
	if name == "" || name == metadataKey {
		return fmt.Errorf("safetensors: tensor name %q not allowed: %w", name, errs.ErrInvalidArgument)
	}
	if w.names[name] {
		return fmt.Errorf("safetensors: tensor %q added twice: %w", name, errs.ErrInvalidArgument)
	}
	if !d.Known() {
		return fmt.Errorf("safetensors: tensor %q: unknown dtype %q: %w", name, d, errs.ErrInvalidArgument)
	}
	size, ok := byteSize(d, shape)
	if !ok || size != uint64(len(data)) {
		return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, got %d: %w", name, shape, d, size, len(data), errs.ErrInvalidArgument)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, wtensor{name: name, dtype: d, shape: append([]uint64{}, shape...), data: data})
	return nil
}

// AddFloat32 adds float values encoded as d (F32, F16, BF16 or F64).
func (w *Writer) AddFloat32(name string, d DType, shape []uint64, vals []float32) error {
	b, err := EncodeFloat32(d, vals)
	if err != nil {
		return err
	}
	return w.Add(name, d, shape, b)
}

// headerEntry is the JSON of one tensor.
type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []uint64 `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// layout orders the tensors and builds the padded header.
func (w *Writer) layout() ([]wtensor, []byte, error) {
	ts := append([]wtensor{}, w.tensors...)
	sort.SliceStable(ts, func(a, b int) bool {
		if sa, sb := ts[a].dtype.Size(), ts[b].dtype.Size(); sa != sb {
			return sa > sb
		}
		return ts[a].name < ts[b].name
	})
	entries := make(map[string]any, len(ts)+1)
	var off uint64
	for _, t := range ts {
		end := off + uint64(len(t.data))
		entries[t.name] = headerEntry{DType: t.dtype, Shape: t.shape, DataOffsets: []uint64{off, end}}
		off = end
	}
	if len(w.Metadata) > 0 {
		entries[metadataKey] = w.Metadata
	}
	hdr, err := json.Marshal(entries) // map keys are sorted
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	if pad := (8 - len(hdr)%8) % 8; pad > 0 {
		hdr = append(hdr, bytes.Repeat([]byte{' '}, pad)...)
	}
	return ts, hdr, nil
}

// WriteTo writes the file to out.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	ts, hdr, err := w.layout()
	if err != nil {
		return 0, err
	}
	var n int64
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	for _, b := range append([][]byte{lenBuf[:], hdr}, datas(ts)...) {
		k, err := out.Write(b)
		n += int64(k)
		if err != nil {
			return n, fmt.Errorf("safetensors: write: %w", err)
		}
	}
	return n, nil
}

func datas(ts []wtensor) [][]byte {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = t.data
	}
	return out
}

// Bytes returns the whole file in memory.
func (w *Writer) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes the file to path through a temporary file in the same
// folder and a rename, so path never holds a partial file.
func (w *Writer) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	_, werr := w.WriteTo(tmp)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("safetensors: write %s: %w", path, werr)
	}
	return nil
}
