// Package source describes a model neutrally, as the engine reads it:
// metadata under GGUF's keys and tensors under GGUF's names, types and
// layouts. A GGUF file is one as it is; other formats (Hugging Face folders)
// are mapped onto one by their loaders, so the engine knows one vocabulary
// of names and no format package knows the engine.
package source

import (
	"github.com/bitnet-dev/bitnet/formats/gguf"
)

// Source is a model: its metadata and tensors.
type Source struct {
	Metadata *gguf.Metadata
	Tensors  []gguf.TensorInfo
	// Data returns the bytes of a tensor of Tensors (in place where the
	// format allows).
	Data func(t *gguf.TensorInfo) []byte
	// Size is the size of the model's files in bytes.
	Size uint64
	// Close releases the source (mappings, buffers); may be nil.
	Close func() error

	byName map[string]int
}

// FromGGUF is the Source of a parsed GGUF file; closing it closes f.
func FromGGUF(f *gguf.File) *Source {
	return &Source{Metadata: f.Metadata, Tensors: f.Tensors, Data: f.Data, Size: f.Size, Close: f.Close}
}

// Tensor returns the tensor named name.
func (s *Source) Tensor(name string) (*gguf.TensorInfo, bool) {
	if s.byName == nil {
		s.byName = make(map[string]int, len(s.Tensors))
		for i := range s.Tensors {
			s.byName[s.Tensors[i].Name] = i
		}
	}
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return &s.Tensors[i], true
}

// Architecture returns general.architecture ("" when absent).
func (s *Source) Architecture() string {
	a, _ := s.Metadata.String("general.architecture")
	return a
}

// Release calls Close once (later calls do nothing).
func (s *Source) Release() error {
	if s.Close == nil {
		return nil
	}
	c := s.Close
	s.Close = nil
	return c()
}
