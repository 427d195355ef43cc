// Package errs holds the error kinds shared by every layer of the engine.
//
// Each package wraps one of these sentinels with context
// (fmt.Errorf("load %s: %w", path, errs.ErrFormat)), so callers can test the
// kind with errors.Is, the C ABI can map it to a stable code, and Python can
// map the code to an exception class. The kinds follow the seed API's
// BitNetError variants.
package errs

import (
	"context"
	"errors"
	"io/fs"
)

// Sentinel error kinds. Wrap them; never return them bare without context.
var (
	// ErrFormat: a model or tokenizer file is malformed, truncated or hostile.
	ErrFormat = errors.New("malformed file")
	// ErrUnsupported: the input is well formed but uses something this
	// engine does not implement (an unknown tensor type, an architecture).
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalidArgument: a caller passed a bad argument or configuration.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrModel: a model is inconsistent (missing tensor, wrong shape).
	ErrModel = errors.New("model error")
	// ErrTokenization: text could not be encoded or ids decoded.
	ErrTokenization = errors.New("tokenization error")
	// ErrQuantization: a tensor cannot be quantized to the requested type.
	ErrQuantization = errors.New("quantization error")
	// ErrDevice: a requested compute device is missing or failed.
	ErrDevice = errors.New("device error")
	// ErrCapacity: a fixed capacity (context length, cache) is exhausted.
	ErrCapacity = errors.New("capacity exceeded")
	// ErrMemory: an allocation would exceed a limit.
	ErrMemory = errors.New("memory error")
	// ErrNumeric: a computation produced no usable number (all logits NaN).
	ErrNumeric = errors.New("numeric error")
	// ErrCanceled: the caller stopped the operation.
	ErrCanceled = errors.New("canceled")
	// ErrClosed: the object was used after Close.
	ErrClosed = errors.New("use after close")
	// ErrInternal: a bug in the engine (a recovered panic).
	ErrInternal = errors.New("internal error")
)

// Code is a stable numeric error kind for the C ABI. The values never change
// once published; new kinds get new numbers.
type Code int

// Codes of the C ABI. CodeOK is 0; every failure is negative.
const (
	CodeOK              Code = 0
	CodeInternal        Code = -1
	CodeInvalidArgument Code = -2
	CodeIO              Code = -3
	CodeFormat          Code = -4
	CodeUnsupported     Code = -5
	CodeModel           Code = -6
	CodeTokenization    Code = -7
	CodeQuantization    Code = -8
	CodeDevice          Code = -9
	CodeCapacity        Code = -10
	CodeMemory          Code = -11
	CodeNumeric         Code = -12
	CodeCanceled        Code = -13
	CodeClosed          Code = -14
	CodeTimeout         Code = -15
)

// CodeOf returns the error kind of err (CodeOK for nil). Errors that carry no
// kind of this package but come from the file system count as CodeIO.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	table := []struct {
		target error
		code   Code
	}{
		{ErrInternal, CodeInternal},
		{ErrCanceled, CodeCanceled},
		{context.Canceled, CodeCanceled},
		{context.DeadlineExceeded, CodeTimeout},
		{ErrClosed, CodeClosed},
		{ErrInvalidArgument, CodeInvalidArgument},
		{ErrFormat, CodeFormat},
		{ErrUnsupported, CodeUnsupported},
		{ErrModel, CodeModel},
		{ErrTokenization, CodeTokenization},
		{ErrQuantization, CodeQuantization},
		{ErrDevice, CodeDevice},
		{ErrCapacity, CodeCapacity},
		{ErrMemory, CodeMemory},
		{ErrNumeric, CodeNumeric},
	}
	for _, e := range table {
		if errors.Is(err, e.target) {
			return e.code
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return CodeIO
	}
	return CodeInternal
}
