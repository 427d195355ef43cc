package kernels

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// Matrix is a weight matrix of Rows x Cols (outputs x inputs), stored
// row-major in one of the quant types and normally used in place from the
// mapped model file.
//
// Ternary types (I2_S, TQ1_0, TQ2_0) are multiplied with int8 activations
// (MatMulI8); the others with float32 activations (MatMul).
type Matrix struct {
	Name       string
	Type       quant.Type
	Rows, Cols int
	// Data holds the rows. For I2_S it is the packed codes only
	// (Rows*Cols/4 bytes); the tensor's scale is folded into Scale.
	Data []byte
	// Scale multiplies every output: for I2_S the tensor's scale, times
	// the optional per-matrix ".scale" tensor of the model for any type.
	Scale float32
	// RowBytes is the size of one row in Data.
	RowBytes int
}

// NewMatrix checks the geometry of a matrix and returns it. For I2_S, data
// may be the whole tensor (codes and tail); the tail's scale is multiplied
// into scale.
func NewMatrix(name string, t quant.Type, rows, cols int, data []byte, scale float32) (*Matrix, error) {
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("matrix %s: shape %dx%d: %w", name, rows, cols, errs.ErrModel)
	}
	info, ok := quant.Lookup(t)
	if !ok || (!info.CanDequantize()) {
		return nil, fmt.Errorf("matrix %s: weight type %v has no kernel: %w", name, t, errs.ErrUnsupported)
	}
	rb, err := quant.RowBytes(t, uint64(cols))
	if err != nil {
		return nil, fmt.Errorf("matrix %s: %w", name, err)
	}
	need := int(rb) * rows
	if t == quant.I2_S {
		if uint64(cols)%quant.I2SBlock != 0 {
			return nil, fmt.Errorf("matrix %s: I2_S rows of %d weights are not a multiple of %d: %w", name, cols, quant.I2SBlock, errs.ErrUnsupported)
		}
		if len(data) == need+quant.I2STail {
			s, err := quant.I2SScale(data, rows*cols)
			if err != nil {
				return nil, fmt.Errorf("matrix %s: %w", name, err)
			}
			scale *= s
			data = data[:need]
		}
	}
	if len(data) != need {
		return nil, fmt.Errorf("matrix %s: %d bytes, %v %dx%d needs %d: %w", name, len(data), t, rows, cols, need, errs.ErrModel)
	}
	return &Matrix{Name: name, Type: t, Rows: rows, Cols: cols, Data: data, Scale: scale, RowBytes: int(rb)}, nil
}

// Ternary reports whether the matrix takes int8 activations.
func (m *Matrix) Ternary() bool { return IsTernary(m.Type) }

// Row returns the bytes of row r.
func (m *Matrix) Row(r int) []byte { return m.Data[r*m.RowBytes : (r+1)*m.RowBytes] }

// IsTernary reports whether t is a ternary type with an int8 kernel.
func IsTernary(t quant.Type) bool {
	return t == quant.I2_S || t == quant.TQ2_0 || t == quant.TQ1_0
}
