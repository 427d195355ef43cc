//go:build cgo && unix

package cuda

/*
#cgo LDFLAGS: -ldl
#cgo CFLAGS: -O2 -fvisibility=hidden
#include <stdlib.h>
#include "driver.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// check turns a CUresult into nil or an *Error naming the call.
func check(call string, r C.int) error {
	if r == 0 {
		return nil
	}
	return &Error{Call: call, Code: int(r), Name: C.GoString(C.bn_error_name(r)), Msg: C.GoString(C.bn_error_string(r))}
}

func loadDriver() (int, error) {
	var msg [512]C.char
	switch r := C.bn_load(&msg[0], C.int(len(msg))); r {
	case 0:
	case C.BN_LOAD_NO_LIBRARY, C.BN_LOAD_NO_SYMBOL:
		return 0, fmt.Errorf("load the CUDA driver: %s: %w", C.GoString(&msg[0]), ErrNoDevice)
	default:
		return 0, noDevice("initialize the CUDA driver", check("cuInit", r))
	}
	var v C.int
	if err := check("cuDriverGetVersion", C.bn_driver_version(&v)); err != nil {
		return 0, noDevice("CUDA driver version", err)
	}
	return int(v), nil
}

func threadID() uint64 { return uint64(C.bn_thread_id()) }

func drvDeviceCount() (int, error) {
	var n C.int
	err := check("cuDeviceGetCount", C.bn_device_count(&n))
	return int(n), err
}

func drvDeviceGet(ordinal int) (int32, error) {
	var d C.int
	err := check("cuDeviceGet", C.bn_device_get(&d, C.int(ordinal)))
	return int32(d), err
}

func drvDeviceName(dev int32) (string, error) {
	var name [256]C.char
	if err := check("cuDeviceGetName", C.bn_device_name(&name[0], C.int(len(name)), C.int(dev))); err != nil {
		return "", err
	}
	name[len(name)-1] = 0
	return C.GoString(&name[0]), nil
}

func drvDeviceAttr(dev int32, attr int) (int, error) {
	var v C.int
	err := check("cuDeviceGetAttribute", C.bn_device_attr(&v, C.int(attr), C.int(dev)))
	return int(v), err
}

func drvDeviceTotalMem(dev int32) (uint64, error) {
	var b C.uint64_t
	err := check("cuDeviceTotalMem_v2", C.bn_device_total_mem(&b, C.int(dev)))
	return uint64(b), err
}

func drvDeviceMemInfo(dev int32) (free, total uint64, err error) {
	var f, t C.uint64_t
	err = check("cuMemGetInfo_v2", C.bn_device_mem_info(&f, &t, C.int(dev)))
	return uint64(f), uint64(t), err
}

func drvPrimaryRetain(dev int32) (uintptr, error) {
	var c C.uintptr_t
	err := check("cuDevicePrimaryCtxRetain", C.bn_primary_retain(&c, C.int(dev)))
	return uintptr(c), err
}

func drvPrimaryRelease(dev int32) error {
	return check("cuDevicePrimaryCtxRelease", C.bn_primary_release(C.int(dev)))
}

func drvCtxSetCurrent(ctx uintptr) error {
	return check("cuCtxSetCurrent", C.bn_ctx_set_current(C.uintptr_t(ctx)))
}

func drvCtxSynchronize() error { return check("cuCtxSynchronize", C.bn_ctx_synchronize()) }

func drvMemGetInfo() (free, total uint64, err error) {
	var f, t C.uint64_t
	err = check("cuMemGetInfo_v2", C.bn_mem_get_info(&f, &t))
	return uint64(f), uint64(t), err
}

// drvModuleLoad JIT-compiles PTX; on failure the JIT's error log comes
// back too.
func drvModuleLoad(ptx []byte) (uintptr, string, error) {
	img := C.malloc(C.size_t(len(ptx) + 1))
	if img == nil {
		return 0, "", fmt.Errorf("cuda: no host memory for a %d-byte module image: %w", len(ptx), ErrNoDevice)
	}
	defer C.free(img)
	buf := unsafe.Slice((*byte)(img), len(ptx)+1)
	copy(buf, ptx)
	buf[len(ptx)] = 0
	var log [4096]C.char
	var m C.uintptr_t
	if err := check("cuModuleLoadData", C.bn_module_load(&m, img, &log[0], C.int(len(log)))); err != nil {
		return 0, C.GoString(&log[0]), err
	}
	return uintptr(m), "", nil
}

func drvModuleUnload(m uintptr) error {
	return check("cuModuleUnload", C.bn_module_unload(C.uintptr_t(m)))
}

func drvModuleFunction(m uintptr, name string) (uintptr, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var f C.uintptr_t
	err := check("cuModuleGetFunction", C.bn_module_function(&f, C.uintptr_t(m), cname))
	return uintptr(f), err
}

func drvFuncGetAttr(f uintptr, attr int) (int, error) {
	var v C.int
	err := check("cuFuncGetAttribute", C.bn_func_get_attr(&v, C.int(attr), C.uintptr_t(f)))
	return int(v), err
}

func drvFuncSetAttr(f uintptr, attr, v int) error {
	return check("cuFuncSetAttribute", C.bn_func_set_attr(C.uintptr_t(f), C.int(attr), C.int(v)))
}

func drvMemAlloc(bytes uint64) (uint64, error) {
	var p C.uint64_t
	err := check("cuMemAlloc_v2", C.bn_mem_alloc(&p, C.uint64_t(bytes)))
	return uint64(p), err
}

func drvMemFree(p uint64) error { return check("cuMemFree_v2", C.bn_mem_free(C.uint64_t(p))) }

func drvMemcpyHtoD(dst uint64, src unsafe.Pointer, bytes uint64) error {
	return check("cuMemcpyHtoD_v2", C.bn_memcpy_htod(C.uint64_t(dst), src, C.uint64_t(bytes)))
}

func drvMemcpyDtoH(dst unsafe.Pointer, src uint64, bytes uint64) error {
	return check("cuMemcpyDtoH_v2", C.bn_memcpy_dtoh(dst, C.uint64_t(src), C.uint64_t(bytes)))
}

func drvMemcpyHtoDAsync(dst uint64, src unsafe.Pointer, bytes uint64, stream uintptr) error {
	return check("cuMemcpyHtoDAsync_v2", C.bn_memcpy_htod_async(C.uint64_t(dst), src, C.uint64_t(bytes), C.uintptr_t(stream)))
}

func drvMemcpyDtoHAsync(dst unsafe.Pointer, src uint64, bytes uint64, stream uintptr) error {
	return check("cuMemcpyDtoHAsync_v2", C.bn_memcpy_dtoh_async(dst, C.uint64_t(src), C.uint64_t(bytes), C.uintptr_t(stream)))
}

func drvMemcpyDtoDAsync(dst, src, bytes uint64, stream uintptr) error {
	return check("cuMemcpyDtoDAsync_v2", C.bn_memcpy_dtod_async(C.uint64_t(dst), C.uint64_t(src), C.uint64_t(bytes), C.uintptr_t(stream)))
}

func drvMemsetD8(p uint64, v byte, bytes uint64) error {
	return check("cuMemsetD8_v2", C.bn_memset_d8(C.uint64_t(p), C.uchar(v), C.uint64_t(bytes)))
}

func drvMemsetD8Async(p uint64, v byte, bytes uint64, stream uintptr) error {
	return check("cuMemsetD8Async", C.bn_memset_d8_async(C.uint64_t(p), C.uchar(v), C.uint64_t(bytes), C.uintptr_t(stream)))
}

// drvLaunch launches f; args holds one marshalled argument per element
// (see marshalArgs). The C side copies them before the launch.
func drvLaunch(f uintptr, grid, block [3]uint32, shared uint32, stream uintptr, args []uint64) error {
	var p *C.uint64_t
	if len(args) > 0 {
		p = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	return check("cuLaunchKernel", C.bn_launch(C.uintptr_t(f), (*C.uint32_t)(unsafe.Pointer(&grid[0])),
		(*C.uint32_t)(unsafe.Pointer(&block[0])), C.uint32_t(shared), C.uintptr_t(stream), p, C.int(len(args))))
}

func drvStreamCreate() (uintptr, error) {
	var s C.uintptr_t
	err := check("cuStreamCreate", C.bn_stream_create(&s))
	return uintptr(s), err
}

func drvStreamDestroy(s uintptr) error {
	return check("cuStreamDestroy_v2", C.bn_stream_destroy(C.uintptr_t(s)))
}

func drvStreamSynchronize(s uintptr) error {
	return check("cuStreamSynchronize", C.bn_stream_synchronize(C.uintptr_t(s)))
}

func drvStreamBeginCapture(s uintptr) error {
	return check("cuStreamBeginCapture_v2", C.bn_stream_begin_capture(C.uintptr_t(s)))
}

func drvStreamEndCapture(s uintptr) (uintptr, error) {
	var g C.uintptr_t
	err := check("cuStreamEndCapture", C.bn_stream_end_capture(C.uintptr_t(s), &g))
	return uintptr(g), err
}

func drvGraphInstantiate(g uintptr) (uintptr, error) {
	var e C.uintptr_t
	err := check("cuGraphInstantiateWithFlags", C.bn_graph_instantiate(&e, C.uintptr_t(g)))
	return uintptr(e), err
}

func drvGraphLaunch(exec, stream uintptr) error {
	return check("cuGraphLaunch", C.bn_graph_launch(C.uintptr_t(exec), C.uintptr_t(stream)))
}

func drvGraphExecDestroy(exec uintptr) error {
	return check("cuGraphExecDestroy", C.bn_graph_exec_destroy(C.uintptr_t(exec)))
}

func drvGraphDestroy(g uintptr) error {
	return check("cuGraphDestroy", C.bn_graph_destroy(C.uintptr_t(g)))
}

func drvEventCreate() (uintptr, error) {
	var e C.uintptr_t
	err := check("cuEventCreate", C.bn_event_create(&e))
	return uintptr(e), err
}

func drvEventRecord(e, s uintptr) error {
	return check("cuEventRecord", C.bn_event_record(C.uintptr_t(e), C.uintptr_t(s)))
}

func drvEventSynchronize(e uintptr) error {
	return check("cuEventSynchronize", C.bn_event_synchronize(C.uintptr_t(e)))
}

func drvEventElapsed(start, end uintptr) (float32, error) {
	var ms C.float
	err := check("cuEventElapsedTime", C.bn_event_elapsed(&ms, C.uintptr_t(start), C.uintptr_t(end)))
	return float32(ms), err
}

func drvEventDestroy(e uintptr) error {
	return check("cuEventDestroy_v2", C.bn_event_destroy(C.uintptr_t(e)))
}
