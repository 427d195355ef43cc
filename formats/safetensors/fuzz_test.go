package safetensors

import (
	"errors"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// FuzzParse feeds arbitrary bytes to the header parser: it must never
// panic, every error must be a *FormatError wrapping errs.ErrFormat, and
// every accepted file must have its tensors inside the data section and
// decodable.
func FuzzParse(f *testing.F) {
	w, err := sampleWriter(f).Bytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w)
	f.Add(raw(`{}`, 0))
	f.Add(raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 8))
	f.Add(raw(`{"__metadata__":{"k":"v"},"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}`, 8))
	f.Add(w[:len(w)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, errs.ErrFormat) {
				t.Fatalf("error %v (%T) is not a FormatError wrapping ErrFormat", err, err)
			}
			return
		}
		for i := range file.Tensors {
			tn := &file.Tensors[i]
			b := file.Data(tn)
			if uint64(len(b)) != tn.Elements()*tn.DType.Size() {
				t.Fatalf("%s: %d bytes for %d elements", tn.Name, len(b), tn.Elements())
			}
			if tn.DType.IsFloat() {
				if _, err := file.Float32s(tn); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
