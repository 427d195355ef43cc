package safetensors

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// writeShards writes two shards and an index over them into dir.
func writeShards(t *testing.T, dir, index string) {
	t.Helper()
	a := NewWriter()
	must(t, a.AddFloat32("x", F32, []uint64{2}, []float32{1, 2}))
	must(t, a.WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors")))
	b := NewWriter()
	must(t, b.AddFloat32("y", F32, []uint64{1}, []float32{3}))
	must(t, b.WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors")))
	must(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(index), 0o644))
}

const goodIndex = `{"metadata": {"total_size": 12}, "weight_map": {
  "x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}}`

func TestOpenIndexJoinsShards(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, goodIndex)
	s, err := OpenIndex(filepath.Join(dir, "model.safetensors.index.json"))
	must(t, err)
	defer s.Close()
	if len(s.Files) != 2 || len(s.Names()) != 2 {
		t.Fatalf("%d files, names %v", len(s.Files), s.Names())
	}
	tn, f, ok := s.Tensor("y")
	if !ok {
		t.Fatal("y missing")
	}
	v, err := f.Float32s(tn)
	must(t, err)
	if v[0] != 3 {
		t.Errorf("y = %v", v)
	}
	if s.Size() == 0 {
		t.Error("size 0")
	}
}

func TestOpenIndexRejectsInconsistentIndexes(t *testing.T) {
	cases := map[string]struct {
		index string
		kind  error
	}{
		"misplaced tensor": {`{"weight_map": {"x": "model-00002-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}}`, ErrIndex},
		"escaping shard":   {`{"weight_map": {"x": "../model-00001-of-00002.safetensors"}}`, ErrIndex},
		"absolute shard":   {`{"weight_map": {"x": "/etc/passwd"}}`, ErrIndex},
		"empty map":        {`{"weight_map": {}}`, ErrIndex},
		"bad json":         {`{"weight_map": `, ErrIndex},
		"missing shard":    {`{"weight_map": {"x": "model-00001-of-00002.safetensors", "z": "other.safetensors"}}`, errs.ErrModel},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeShards(t, dir, c.index)
			s, err := OpenIndex(filepath.Join(dir, "model.safetensors.index.json"))
			if err == nil {
				s.Close()
				t.Fatal("opened, want an error")
			}
			if !errors.Is(err, c.kind) {
				t.Fatalf("error %v, want %v", err, c.kind)
			}
		})
	}
}

func TestOpenFilesRejectsATensorInTwoFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.safetensors", "b.safetensors"} {
		w := NewWriter()
		must(t, w.AddFloat32("x", F32, []uint64{1}, []float32{1}))
		must(t, w.WriteFile(filepath.Join(dir, n)))
	}
	_, err := OpenFiles(filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors"))
	if !errors.Is(err, ErrIndex) {
		t.Fatalf("error %v, want ErrIndex", err)
	}
}
