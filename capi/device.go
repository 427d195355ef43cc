package main

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/kernels"
)

var deviceKinds = map[string]C.int32_t{"cpu": C.BITNET_DEVICE_CPU, "cuda": C.BITNET_DEVICE_CUDA, "metal": C.BITNET_DEVICE_METAL}

func fillDevice(dst *C.bitnet_device_info, d kernels.DeviceInfo) {
	*dst = C.bitnet_device_info{
		kind:            deviceKinds[d.Kind],
		index:           C.int32_t(d.Index),
		total_memory:    C.uint64_t(d.TotalMemory),
		free_memory:     C.uint64_t(d.FreeMemory),
		supports_f16:    cBool(d.SupportsF16),
		supports_bf16:   cBool(d.SupportsBF16),
		supports_int8:   cBool(d.SupportsInt8),
		max_threads:     C.int32_t(d.MaxThreads),
		compute_major:   C.int32_t(d.ComputeMajor),
		compute_minor:   C.int32_t(d.ComputeMinor),
		available:       cBool(d.Available),
		multiprocessors: C.int32_t(d.Multiprocessors),
	}
	setFixed(&dst.name[0], len(dst.name), d.Name)
}

//export bitnet_devices
func bitnet_devices(buf *C.bitnet_device_info, capacity C.size_t, n *C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	if n == nil {
		return fail(invalid("n_out is NULL"))
	}
	devs := engine.Devices()
	*n = C.size_t(len(devs))
	if len(devs) > int(capacity) {
		return fail(fmt.Errorf("%d devices do not fit in a buffer of %d: %w", len(devs), capacity, errBufferTooSmall))
	}
	if buf == nil {
		return fail(invalid("buf is NULL"))
	}
	out := unsafe.Slice(buf, len(devs))
	for i, d := range devs {
		fillDevice(&out[i], d)
	}
	return C.BITNET_OK
}

//export bitnet_device_query
func bitnet_device_query(kind, index C.int32_t, info *C.bitnet_device_info) (rc C.int32_t) {
	defer guard(&rc)
	if info == nil {
		return fail(invalid("info is NULL"))
	}
	d, err := engine.QueryDevice(engine.Device{Kind: engine.DeviceKind(kind), Index: int(index)})
	if err != nil {
		return fail(err)
	}
	fillDevice(info, d)
	return C.BITNET_OK
}
