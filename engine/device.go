package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
)

// DeviceKind is a kind of compute device.
type DeviceKind int

// Device kinds; the values are those of the C ABI's BITNET_DEVICE_*.
const (
	DeviceAuto  DeviceKind = 0
	DeviceCPU   DeviceKind = 1
	DeviceCUDA  DeviceKind = 2
	DeviceMetal DeviceKind = 3
)

// Device selects where a model runs.
type Device struct {
	Kind  DeviceKind
	Index int
}

// String names the device as users write it: "auto", "cpu", "cuda:0",
// "metal".
func (d Device) String() string {
	switch d.Kind {
	case DeviceAuto:
		return "auto"
	case DeviceCPU:
		return "cpu"
	case DeviceCUDA:
		return fmt.Sprintf("cuda:%d", d.Index)
	case DeviceMetal:
		return "metal"
	}
	return fmt.Sprintf("device(%d)", int(d.Kind))
}

// Devices lists the devices of this machine: the CPU, then the CUDA GPUs
// (none when there is no driver or device, or when one cannot be queried).
func Devices() []kernels.DeviceInfo {
	out := []kernels.DeviceInfo{kernels.CPUInfo()}
	if gpus, err := cuda.Devices(); err == nil {
		for _, g := range gpus {
			out = append(out, cudaDeviceInfo(g))
		}
	}
	return out
}

// cudaDeviceInfo describes a GPU as the engine reports devices: F16 from
// compute capability 5.3, BF16 from 8.0, int8 dot products (dp4a) from
// 6.1; MaxThreads is the most threads of a block.
func cudaDeviceInfo(g cuda.DeviceInfo) kernels.DeviceInfo {
	cc := g.ComputeCapability()
	return kernels.DeviceInfo{Kind: "cuda", Index: g.Index, Name: g.Name, TotalMemory: g.TotalMemory,
		FreeMemory: g.FreeMemory, SupportsF16: cc >= 53, SupportsBF16: cc >= 80, SupportsInt8: cc >= 61,
		MaxThreads: g.MaxThreadsPerBlock, ComputeMajor: g.ComputeMajor, ComputeMinor: g.ComputeMinor,
		Multiprocessors: g.Multiprocessors, Available: true}
}

// QueryDevice describes one device, or fails with errs.ErrDevice when it
// is not present.
func QueryDevice(d Device) (kernels.DeviceInfo, error) {
	r, err := resolveDevice(d)
	if err != nil {
		return kernels.DeviceInfo{}, err
	}
	switch r.Kind {
	case DeviceCPU:
		return kernels.CPUInfo(), nil
	case DeviceCUDA:
		g, err := cuda.Query(r.Index)
		if err != nil {
			return kernels.DeviceInfo{}, fmt.Errorf("device %v: %w", d, err)
		}
		return cudaDeviceInfo(g), nil
	}
	return kernels.DeviceInfo{}, fmt.Errorf("device %v: not present: %w", d, errs.ErrDevice)
}

// resolveDevice turns a requested device into the one that will run: Auto
// is the CPU; CUDA device i when this machine has it; CUDA and Metal fail
// with errs.ErrDevice when this machine (or this build) has none.
func resolveDevice(d Device) (Device, error) {
	switch d.Kind {
	case DeviceAuto, DeviceCPU:
		return Device{Kind: DeviceCPU}, nil
	case DeviceCUDA:
		if d.Index < 0 {
			return d, fmt.Errorf("device %v: negative index: %w", d, errs.ErrInvalidArgument)
		}
		n, err := cuda.DeviceCount()
		if err != nil {
			return d, fmt.Errorf("device %v: no CUDA device is available on this machine: %w", d, err)
		}
		if d.Index >= n {
			return d, fmt.Errorf("device %v: this machine has %d CUDA devices: %w", d, n, errs.ErrDevice)
		}
		return d, nil
	case DeviceMetal:
		return d, fmt.Errorf("device metal: Metal is not supported by this build: %w", errs.ErrDevice)
	}
	return d, fmt.Errorf("device kind %d is unknown: %w", int(d.Kind), errs.ErrInvalidArgument)
}

// ParseDevice reads a device as users write it: "auto", "cpu", "cuda",
// "cuda:N", "metal".
func ParseDevice(s string) (Device, error) {
	switch t := strings.ToLower(strings.TrimSpace(s)); {
	case t == "" || t == "auto":
		return Device{Kind: DeviceAuto}, nil
	case t == "cpu":
		return Device{Kind: DeviceCPU}, nil
	case t == "metal":
		return Device{Kind: DeviceMetal}, nil
	case t == "cuda" || t == "gpu":
		return Device{Kind: DeviceCUDA}, nil
	case strings.HasPrefix(t, "cuda:"):
		i, err := strconv.Atoi(t[len("cuda:"):])
		if err != nil || i < 0 {
			return Device{}, fmt.Errorf("device %q: the CUDA index must be a number >= 0: %w", s, errs.ErrInvalidArgument)
		}
		return Device{Kind: DeviceCUDA, Index: i}, nil
	}
	return Device{}, fmt.Errorf("device %q: use auto, cpu, cuda, cuda:N or metal: %w", s, errs.ErrInvalidArgument)
}
