// Package cuda is the NVIDIA GPU backend: a binding of the CUDA driver API
// loaded at run time (dlopen of libcuda.so.1; nothing CUDA is needed to
// build), CUDA C kernels compiled to PTX and embedded, and the GPU forward
// pass. See DESIGN.md. On machines without a driver or a device, every
// entry point returns an error wrapping ErrNoDevice.
package cuda

import (
	"errors"
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// ErrNoDevice: no usable CUDA driver or device (no libcuda.so.1, an old
// driver, no GPU, or a build without cgo). It wraps errs.ErrDevice.
var ErrNoDevice = fmt.Errorf("no CUDA device: %w", errs.ErrDevice)

// Error is a failed driver call.
type Error struct {
	Call string // driver function, e.g. "cuMemAlloc_v2"
	Code int    // CUresult
	Name string // e.g. "CUDA_ERROR_OUT_OF_MEMORY"
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%d): %s", e.Call, e.Name, e.Code, e.Msg)
}

// Unwrap makes every driver failure an errs.ErrDevice (out of memory also
// errs.ErrMemory).
func (e *Error) Unwrap() []error {
	if e.Code == 2 { // CUDA_ERROR_OUT_OF_MEMORY
		return []error{errs.ErrDevice, errs.ErrMemory}
	}
	return []error{errs.ErrDevice}
}

// IsNoDevice reports whether err means that there is no CUDA device.
func IsNoDevice(err error) bool { return errors.Is(err, ErrNoDevice) }

// DeviceInfo describes one GPU.
type DeviceInfo struct {
	Index              int
	Name               string
	ComputeMajor       int
	ComputeMinor       int
	Multiprocessors    int
	TotalMemory        uint64
	FreeMemory         uint64
	MaxThreadsPerBlock int
	MaxSharedPerBlock  int
	WarpSize           int
	ClockKHz           int
	MemoryClockKHz     int
	MemoryBusWidth     int // bits
	L2CacheBytes       int
	DriverVersion      int // e.g. 13000
}
