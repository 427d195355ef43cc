//go:build !cgo || !unix

package cuda

import (
	"fmt"
	"unsafe"
)

// This build has no driver binding (cgo is off, or the platform has no
// dlopen): every driver call fails with ErrNoDevice. Only loadDriver is
// reached in practice, since nothing else runs before Load succeeds.

var errNoBinding = fmt.Errorf("this build has no CUDA driver binding (built without cgo): %w", ErrNoDevice)

func loadDriver() (int, error) { return 0, errNoBinding }

func threadID() uint64 { return 0 }

func drvDeviceCount() (int, error)                       { return 0, errNoBinding }
func drvDeviceGet(int) (int32, error)                    { return 0, errNoBinding }
func drvDeviceName(int32) (string, error)                { return "", errNoBinding }
func drvDeviceAttr(int32, int) (int, error)              { return 0, errNoBinding }
func drvDeviceTotalMem(int32) (uint64, error)            { return 0, errNoBinding }
func drvDeviceMemInfo(int32) (uint64, uint64, error)     { return 0, 0, errNoBinding }
func drvPrimaryRetain(int32) (uintptr, error)            { return 0, errNoBinding }
func drvPrimaryRelease(int32) error                      { return errNoBinding }
func drvCtxSetCurrent(uintptr) error                     { return errNoBinding }
func drvCtxSynchronize() error                           { return errNoBinding }
func drvMemGetInfo() (uint64, uint64, error)             { return 0, 0, errNoBinding }
func drvModuleLoad([]byte) (uintptr, string, error)      { return 0, "", errNoBinding }
func drvModuleUnload(uintptr) error                      { return errNoBinding }
func drvModuleFunction(uintptr, string) (uintptr, error) { return 0, errNoBinding }
func drvFuncGetAttr(uintptr, int) (int, error)           { return 0, errNoBinding }
func drvFuncSetAttr(uintptr, int, int) error             { return errNoBinding }
func drvMemAlloc(uint64) (uint64, error)                 { return 0, errNoBinding }
func drvMemFree(uint64) error                            { return errNoBinding }
func drvMemcpyHtoD(uint64, unsafe.Pointer, uint64) error { return errNoBinding }
func drvMemcpyDtoH(unsafe.Pointer, uint64, uint64) error { return errNoBinding }
func drvMemcpyHtoDAsync(uint64, unsafe.Pointer, uint64, uintptr) error {
	return errNoBinding
}
func drvMemcpyDtoHAsync(unsafe.Pointer, uint64, uint64, uintptr) error {
	return errNoBinding
}
func drvMemcpyDtoDAsync(uint64, uint64, uint64, uintptr) error { return errNoBinding }
func drvMemsetD8(uint64, byte, uint64) error                   { return errNoBinding }
func drvMemsetD8Async(uint64, byte, uint64, uintptr) error     { return errNoBinding }
func drvLaunch(uintptr, [3]uint32, [3]uint32, uint32, uintptr, []uint64) error {
	return errNoBinding
}
func drvStreamCreate() (uintptr, error)                 { return 0, errNoBinding }
func drvStreamDestroy(uintptr) error                    { return errNoBinding }
func drvStreamSynchronize(uintptr) error                { return errNoBinding }
func drvStreamBeginCapture(uintptr) error               { return errNoBinding }
func drvStreamEndCapture(uintptr) (uintptr, error)      { return 0, errNoBinding }
func drvGraphInstantiate(uintptr) (uintptr, error)      { return 0, errNoBinding }
func drvGraphLaunch(uintptr, uintptr) error             { return errNoBinding }
func drvGraphExecDestroy(uintptr) error                 { return errNoBinding }
func drvGraphDestroy(uintptr) error                     { return errNoBinding }
func drvEventCreate() (uintptr, error)                  { return 0, errNoBinding }
func drvEventRecord(uintptr, uintptr) error             { return errNoBinding }
func drvEventSynchronize(uintptr) error                 { return errNoBinding }
func drvEventElapsed(uintptr, uintptr) (float32, error) { return 0, errNoBinding }
func drvEventDestroy(uintptr) error                     { return errNoBinding }
