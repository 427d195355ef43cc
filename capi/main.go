// Command capi is the C ABI of the engine, declared in bitnet.h and built as
// a shared library:
//
//	go build -buildmode=c-shared -o libbitnet.so ./capi
//
// Every exported function validates its arguments, turns Go errors into a
// BITNET_ERR_* code plus a thread-local message, and recovers panics into
// BITNET_ERR_INTERNAL. Objects cross the boundary as small C allocations
// holding a runtime/cgo.Handle, so C never holds a Go pointer.
package main

/*
#cgo CFLAGS: -O2 -Wall
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"unicode/utf8"
	"unsafe"

	"github.com/bitnet-dev/bitnet/cli"
	"github.com/bitnet-dev/bitnet/errs"
)

func main() {}

// Codes of the ABI beyond errs' kinds.
const (
	codeBufferTooSmall = -16
	codeForked         = -17
)

// errBufferTooSmall marks a caller buffer that cannot hold the result.
var errBufferTooSmall = errors.New("buffer too small")

// fail records err as the calling thread's last error and returns its code.
func fail(err error) C.int32_t {
	code := int32(errs.CodeOf(err))
	if errors.Is(err, errBufferTooSmall) {
		code = codeBufferTooSmall
	}
	msg := err.Error()
	var p *C.char
	if len(msg) > 0 {
		p = (*C.char)(unsafe.Pointer(unsafe.StringData(msg)))
	}
	C.bitnet_shim_set_error(C.int32_t(code), p, C.size_t(len(msg)))
	return C.int32_t(code)
}

// result converts an error into a return code.
func result(err error) C.int32_t {
	if err != nil {
		return fail(err)
	}
	return C.BITNET_OK
}

// guard recovers a panic into BITNET_ERR_INTERNAL; every export defers it:
// defer guard(&rc).
func guard(rc *C.int32_t) {
	if r := recover(); r != nil {
		*rc = fail(fmt.Errorf("panic: %v: %w", r, errs.ErrInternal))
	}
}

// guardVoid recovers a panic in a function without a return code.
func guardVoid() {
	if r := recover(); r != nil {
		fail(fmt.Errorf("panic: %v: %w", r, errs.ErrInternal))
	}
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), errs.ErrInvalidArgument)
}

// handle stores v and returns a C allocation of size bytes holding its
// handle (the first field of every handle struct).
func newHandle(v any, size C.size_t) unsafe.Pointer {
	p := C.calloc(1, size)
	if p == nil {
		return nil
	}
	*(*C.uintptr_t)(p) = C.uintptr_t(cgo.NewHandle(v))
	return p
}

// lookup returns the object of a handle allocation, or an error for NULL or
// a released handle.
func lookup[T any](p unsafe.Pointer, what string) (T, error) {
	var zero T
	if p == nil {
		return zero, invalid("%s is NULL", what)
	}
	h := *(*C.uintptr_t)(p)
	if h == 0 {
		return zero, fmt.Errorf("%s was freed: %w", what, errs.ErrClosed)
	}
	v, ok := cgo.Handle(h).Value().(T)
	if !ok {
		return zero, invalid("%s is not a %s handle", what, what)
	}
	return v, nil
}

// freeHandle deletes the handle of an allocation and frees it.
func freeHandle(p unsafe.Pointer) {
	if p == nil {
		return
	}
	if h := *(*C.uintptr_t)(p); h != 0 {
		cgo.Handle(h).Delete()
		*(*C.uintptr_t)(p) = 0
	}
	C.free(p)
}

// cString returns a Go copy of a C string ("" for NULL).
func cString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// setFixed copies s into a fixed C char array of n bytes, NUL-terminated,
// cut at a UTF-8 boundary when too long.
func setFixed(dst *C.char, n int, s string) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(dst)), n)
	if len(s) > n-1 {
		valid := utf8.ValidString(s)
		s = s[:n-1]
		for valid && len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	copy(b, s)
	b[len(s)] = 0
}

// newCString returns a malloc'd copy of s for the caller to free with
// bitnet_free_string.
func newCString(s string) *C.char { return C.CString(s) }

//export bitnet_version
func bitnet_version() *C.char {
	return versionString
}

// versionString is allocated once and never freed (static storage for C).
var versionString = C.CString(cli.Version)

// offThread runs f on a goroutine of its own and waits for it. An export
// runs on the C caller's thread, to which cgo locks its goroutine; compute
// that hands work to the kernel worker pool many times per token would pay
// an OS-thread wake-up at each hand-off from a locked thread. Off it, the
// only such wake-up is this one. Panics in f are returned as errors.
func offThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v: %w", r, errs.ErrInternal)
			}
		}()
		done <- f()
	}()
	return <-done
}
