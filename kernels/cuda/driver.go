package cuda

import (
	"fmt"
	"sync"
)

// MinDriverVersion is the oldest driver API version the backend accepts
// (CUDA 11.8: the PTX of nvcc 11.8 needs it, and it has every function the
// binding uses).
const MinDriverVersion = 11080

// Driver result codes (CUresult) the package tests for.
const (
	codeInvalidValue       = 1
	codeOutOfMemory        = 2
	codeNotInitialized     = 3
	codeStubLibrary        = 34
	codeInsufficientDriver = 35
	codeDevicesUnavailable = 46
	codeNoDevice           = 100
	codeInvalidDevice      = 101
	codeNotFound           = 500
)

// Device attributes (CUdevice_attribute).
const (
	attrMaxThreadsPerBlock    = 1
	attrMaxSharedPerBlock     = 8
	attrWarpSize              = 10
	attrClockRate             = 13
	attrMultiprocessorCount   = 16
	attrMemoryClockRate       = 36
	attrGlobalMemoryBusWidth  = 37
	attrL2CacheSize           = 38
	attrComputeCapabilityMajr = 75
	attrComputeCapabilityMinr = 76
)

// Function attributes (CUfunction_attribute).
const (
	funcAttrMaxThreadsPerBlock    = 0
	funcAttrMaxDynamicSharedBytes = 8
)

// loaded is the outcome of loading the driver: the package's only
// package-level state, written once and read-only afterwards.
var loaded struct {
	once    sync.Once
	version int
	err     error
}

// Load opens the CUDA driver (libcuda.so.1), resolves its functions,
// initializes it and checks its version. It does the work once per process
// and returns the same result on every call. Failures that mean "no usable
// GPU here" (no library, a missing function, an old driver, cuInit
// failing, no device) wrap ErrNoDevice.
func Load() error {
	loaded.once.Do(func() {
		loaded.version, loaded.err = loadDriver()
		if loaded.err == nil && loaded.version < MinDriverVersion {
			loaded.err = fmt.Errorf("CUDA driver API version %d is older than the %d this build needs: %w",
				loaded.version, MinDriverVersion, ErrNoDevice)
		}
	})
	return loaded.err
}

// DriverVersion returns the driver's API version (e.g. 13000 for 13.0).
func DriverVersion() (int, error) {
	if err := Load(); err != nil {
		return 0, err
	}
	return loaded.version, nil
}

// noDevice wraps a driver failure that means "no usable device" so that it
// is both ErrNoDevice and the *Error.
func noDevice(what string, err error) error {
	return fmt.Errorf("%s: %w: %w", what, ErrNoDevice, err)
}
