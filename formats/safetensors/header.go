package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"unicode/utf8"
)

// metadataKey is the header entry holding free-form string metadata.
const metadataKey = "__metadata__"

type header struct {
	tensors   []Tensor
	metadata  map[string]string
	dataStart uint64 // 8 + header length
}

// rawEntry is one tensor entry of the header JSON.
type rawEntry struct {
	DType       *string   `json:"dtype"`
	Shape       *[]uint64 `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}

// parseHeader reads and validates the header of a whole file.
func parseHeader(data []byte) (*header, error) {
	if len(data) < 8 {
		return nil, formatErr(ErrTruncated, "", "%d bytes, the header length alone takes 8", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, formatErr(ErrHeaderTooLarge, "", "header length %d exceeds %d", n, MaxHeaderSize)
	}
	if n > uint64(len(data))-8 {
		return nil, formatErr(ErrTruncated, "", "header length %d, but the file has %d bytes after the length", n, len(data)-8)
	}
	raw := data[8 : 8+n]
	if !utf8.Valid(raw) {
		return nil, formatErr(ErrHeaderJSON, "", "header is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, formatErr(ErrHeaderJSON, "", "header is not a JSON object")
	}
	h := &header{dataStart: 8 + n}
	if err := h.decode(raw); err != nil {
		return nil, err
	}
	if err := h.validate(uint64(len(data)) - h.dataStart); err != nil {
		return nil, err
	}
	return h, nil
}

// decode walks the top-level object key by key, so that duplicate keys
// are seen (encoding/json would keep the last one silently).
func (h *header) decode(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{', checked by the caller
		return jsonErr(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return formatErr(ErrHeaderJSON, "", "object key expected")
		}
		if seen[key] {
			return formatErr(ErrHeaderJSON, key, "duplicate key")
		}
		seen[key] = true
		if key == metadataKey {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return formatErr(ErrHeaderJSON, "", "%s must map strings to strings: %v", metadataKey, err)
			}
			h.metadata = md
			continue
		}
		var e rawEntry
		if err := dec.Decode(&e); err != nil {
			return formatErr(ErrHeaderJSON, key, "entry: %v", err)
		}
		t, err := e.tensor(key)
		if err != nil {
			return err
		}
		h.tensors = append(h.tensors, t)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return jsonErr(err)
	}
	// Only padding may follow the object.
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) != 0 || dec.More() {
		return formatErr(ErrHeaderJSON, "", "data after the header object")
	}
	return nil
}

func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		return formatErr(ErrHeaderJSON, "", "header ends inside the JSON object")
	}
	return formatErr(ErrHeaderJSON, "", "%v", err)
}

// tensor checks the fields of an entry and the size its shape implies.
func (e *rawEntry) tensor(name string) (Tensor, error) {
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return Tensor{}, formatErr(ErrHeaderJSON, name, "dtype, shape and data_offsets are required")
	}
	d := DType(*e.DType)
	if !d.Known() {
		return Tensor{}, formatErr(ErrDType, name, "%q", *e.DType)
	}
	off := *e.DataOffsets
	if len(off) != 2 {
		return Tensor{}, formatErr(ErrHeaderJSON, name, "data_offsets has %d values, want 2", len(off))
	}
	t := Tensor{Name: name, DType: d, Shape: *e.Shape, Begin: off[0], End: off[1]}
	if t.Shape == nil {
		t.Shape = []uint64{}
	}
	if t.Begin > t.End {
		return Tensor{}, formatErr(ErrOffsets, name, "data_offsets [%d, %d] are reversed", t.Begin, t.End)
	}
	size, ok := byteSize(d, t.Shape)
	if !ok {
		return Tensor{}, formatErr(ErrShape, name, "shape %v of %s overflows", t.Shape, d)
	}
	if size != t.End-t.Begin {
		return Tensor{}, formatErr(ErrShape, name, "shape %v of %s takes %d bytes, data_offsets [%d, %d] hold %d",
			t.Shape, d, size, t.Begin, t.End, t.End-t.Begin)
	}
	return t, nil
}

// validate checks the ranges against the data section and each other.
func (h *header) validate(dataLen uint64) error {
	for i := range h.tensors {
		t := &h.tensors[i]
		if t.End > dataLen {
			return formatErr(ErrOffsets, t.Name, "data_offsets [%d, %d] end past the data section (%d bytes)", t.Begin, t.End, dataLen)
		}
	}
	order := make([]*Tensor, 0, len(h.tensors))
	for i := range h.tensors {
		if h.tensors[i].End > h.tensors[i].Begin {
			order = append(order, &h.tensors[i])
		}
	}
	sort.Slice(order, func(a, b int) bool { return order[a].Begin < order[b].Begin })
	for i := 1; i < len(order); i++ {
		prev, cur := order[i-1], order[i]
		if cur.Begin < prev.End {
			return formatErr(ErrOverlap, cur.Name, "data_offsets [%d, %d] overlap %q [%d, %d]",
				cur.Begin, cur.End, prev.Name, prev.Begin, prev.End)
		}
	}
	return nil
}
