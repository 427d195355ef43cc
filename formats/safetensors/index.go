package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/bitnet-dev/bitnet/errs"
)

// IndexSuffix ends the name of a sharded checkpoint's index
// ("model.safetensors.index.json").
const IndexSuffix = ".safetensors.index.json"

// maxIndexSize bounds an index file (a real one is well under 1 MiB).
const maxIndexSize = 64 << 20

// Index is a sharded checkpoint's index: which shard holds each tensor.
type Index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// Shards returns the shard file names of the index, sorted, each once.
func (ix *Index) Shards() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range ix.WeightMap {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// ReadIndex reads and checks an index file: a JSON object with a non-empty
// weight_map whose shard names are plain relative paths (no "..", not
// absolute).
func ReadIndex(path string) (*Index, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors index: %w", err)
	}
	if st.Size() > maxIndexSize {
		return nil, fmt.Errorf("%s: %w", path, formatErr(ErrIndex, "", "%d bytes is too large for an index", st.Size()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors index: %w", err)
	}
	ix, err := ParseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix, nil
}

// ParseIndex parses the JSON of an index.
func ParseIndex(b []byte) (*Index, error) {
	var ix Index
	if err := json.Unmarshal(b, &ix); err != nil {
		return nil, formatErr(ErrIndex, "", "%v", err)
	}
	if len(ix.WeightMap) == 0 {
		return nil, formatErr(ErrIndex, "", "weight_map is missing or empty")
	}
	for name, f := range ix.WeightMap {
		if f == "" || !filepath.IsLocal(filepath.FromSlash(f)) {
			return nil, formatErr(ErrIndex, name, "shard %q is not a relative path inside the checkpoint's folder", f)
		}
	}
	return &ix, nil
}

// Set is a model held in one or more files, addressed by tensor name.
type Set struct {
	// Files are the open files, in the order of Paths.
	Files []*File
	// Paths are the files' paths.
	Paths  []string
	byName map[string]setEntry
}

type setEntry struct {
	file   int
	tensor *Tensor
}

// OpenFiles opens files as one Set; a tensor name found in two files is
// an ErrIndex error.
func OpenFiles(paths ...string) (*Set, error) {
	s := &Set{byName: map[string]setEntry{}}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Files = append(s.Files, f)
		s.Paths = append(s.Paths, p)
		fi := len(s.Files) - 1
		for i := range f.Tensors {
			t := &f.Tensors[i]
			if prev, dup := s.byName[t.Name]; dup {
				s.Close()
				return nil, formatErr(ErrIndex, t.Name, "in both %s and %s", s.Paths[prev.file], p)
			}
			s.byName[t.Name] = setEntry{file: fi, tensor: t}
		}
	}
	return s, nil
}

// OpenIndex opens a sharded checkpoint from its index file: every shard it
// names, checked to hold the tensors the index places there.
func OpenIndex(indexPath string) (*Set, error) {
	ix, err := ReadIndex(indexPath)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(indexPath)
	shards := ix.Shards()
	paths := make([]string, len(shards))
	for i, f := range shards {
		paths[i] = filepath.Join(dir, filepath.FromSlash(f))
		if _, err := os.Stat(paths[i]); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s names shard %s, which is missing: %w", indexPath, f, errs.ErrModel)
		}
	}
	s, err := OpenFiles(paths...)
	if err != nil {
		return nil, err
	}
	for name, f := range ix.WeightMap {
		e, ok := s.byName[name]
		if !ok || s.Paths[e.file] != filepath.Join(dir, filepath.FromSlash(f)) {
			s.Close()
			return nil, fmt.Errorf("%s: %w", indexPath, formatErr(ErrIndex, name, "the index places it in %s, which does not hold it", f))
		}
	}
	return s, nil
}

// Tensor returns the tensor named name and the file holding it.
func (s *Set) Tensor(name string) (*Tensor, *File, bool) {
	e, ok := s.byName[name]
	if !ok {
		return nil, nil, false
	}
	return e.tensor, s.Files[e.file], true
}

// Names returns every tensor name, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Size is the total size of the files in bytes.
func (s *Set) Size() uint64 {
	var n uint64
	for _, f := range s.Files {
		n += f.Size
	}
	return n
}

// Close closes every file.
func (s *Set) Close() error {
	var first error
	for _, f := range s.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.Files = nil
	return first
}
