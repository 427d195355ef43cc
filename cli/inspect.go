package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

type inspectKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Elem  string `json:"element_type,omitempty"`
	Len   int    `json:"length,omitempty"`
	Value any    `json:"value"`
}

type inspectTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Shape  []uint64 `json:"shape"`
	Offset uint64   `json:"offset"`
	Bytes  uint64   `json:"bytes"`
}

type inspectOutput struct {
	Path         string          `json:"path"`
	Version      uint32          `json:"version"`
	Architecture string          `json:"architecture"`
	Name         string          `json:"name"`
	FileSize     uint64          `json:"file_size"`
	Alignment    uint64          `json:"alignment"`
	Parameters   uint64          `json:"parameters"`
	TensorBytes  uint64          `json:"tensor_bytes"`
	TypeCounts   map[string]int  `json:"tensor_types"`
	Metadata     []inspectKV     `json:"metadata"`
	Tensors      []inspectTensor `json:"tensors"`
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "[flags] FILE", `
Show a GGUF file's metadata, its tensors with types and shapes, the parameter
count and the size. Long arrays (vocabularies) are summarized unless --full.`, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	full := fs.Bool("full", false, "print every element of arrays")
	noTensors := fs.Bool("no-tensors", false, "leave out the tensor table")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("expected one model file, got %d arguments", len(pos))
	}
	f, err := gguf.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	out := inspectOutput{Path: pos[0], Version: f.Version, Architecture: f.Architecture(), FileSize: f.Size,
		Alignment: f.Alignment, TypeCounts: map[string]int{}}
	out.Name, _ = f.Metadata.String("general.name")
	for _, kv := range f.Metadata.Entries() {
		e := inspectKV{Key: kv.Key, Type: kv.Value.Type.String(), Value: kv.Value.JSON(*full || *asJSON)}
		if kv.Value.Type == gguf.TypeArray {
			e.Elem, e.Len = kv.Value.Elem.String(), kv.Value.Len()
		}
		out.Metadata = append(out.Metadata, e)
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		out.Parameters += t.Elements()
		out.TensorBytes += t.Size
		out.TypeCounts[t.Type.String()]++
		if !*noTensors {
			out.Tensors = append(out.Tensors, inspectTensor{Name: t.Name, Type: t.Type.String(), Shape: t.Dims, Offset: t.Offset, Bytes: t.Size})
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "file:         %s\n", out.Path)
	fmt.Fprintf(stdout, "format:       GGUF v%d, alignment %d, %s\n", out.Version, out.Alignment, human(out.FileSize))
	fmt.Fprintf(stdout, "architecture: %s\n", out.Architecture)
	fmt.Fprintf(stdout, "name:         %s\n", out.Name)
	fmt.Fprintf(stdout, "parameters:   %d (%s)\n", out.Parameters, humanCount(out.Parameters))
	var types []string
	for _, t := range quant.Types() {
		if c := out.TypeCounts[t.String()]; c > 0 {
			types = append(types, fmt.Sprintf("%s x%d", t, c))
		}
	}
	fmt.Fprintf(stdout, "tensor types: %s\n", strings.Join(types, ", "))
	fmt.Fprintf(stdout, "\nmetadata (%d keys):\n", len(out.Metadata))
	for _, kv := range f.Metadata.Entries() {
		v := kv.Value.String()
		if *full {
			b, _ := json.Marshal(kv.Value.JSON(true))
			v = string(b)
		}
		fmt.Fprintf(stdout, "  %-45s %-7s %s\n", kv.Key, kv.Value.Type, v)
	}
	if !*noTensors {
		fmt.Fprintf(stdout, "\ntensors (%d):\n", len(f.Tensors))
		for _, t := range out.Tensors {
			fmt.Fprintf(stdout, "  %-40s %-6s %-22s %s\n", t.Name, t.Type, fmt.Sprint(t.Shape), human(t.Bytes))
		}
	}
	return nil
}

func human(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func humanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f B", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f K", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
