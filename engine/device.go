package engine

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
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

// Devices lists the devices of this machine, the CPU first.
func Devices() []kernels.DeviceInfo {
	return []kernels.DeviceInfo{kernels.CPUInfo()}
}

// QueryDevice describes one device, or fails with errs.ErrDevice when it
// is not present.
func QueryDevice(d Device) (kernels.DeviceInfo, error) {
	r, err := resolveDevice(d)
	if err != nil {
		return kernels.DeviceInfo{}, err
	}
	for _, info := range Devices() {
		if (r.Kind == DeviceCPU && info.Kind == "cpu") || (r.Kind == DeviceCUDA && info.Kind == "cuda" && info.Index == r.Index) {
			return info, nil
		}
	}
	return kernels.DeviceInfo{}, fmt.Errorf("device %v: not present: %w", d, errs.ErrDevice)
}

// resolveDevice turns a requested device into the one that will run: Auto
// picks the best present device; CUDA and Metal fail with errs.ErrDevice
// when this machine (or this build) has none.
func resolveDevice(d Device) (Device, error) {
	switch d.Kind {
	case DeviceAuto, DeviceCPU:
		return Device{Kind: DeviceCPU}, nil
	case DeviceCUDA:
		if d.Index < 0 {
			return d, fmt.Errorf("device %v: negative index: %w", d, errs.ErrInvalidArgument)
		}
		return d, fmt.Errorf("device %v: no CUDA device is available on this machine: %w", d, errs.ErrDevice)
	case DeviceMetal:
		return d, fmt.Errorf("device metal: Metal is not supported by this build: %w", errs.ErrDevice)
	}
	return d, fmt.Errorf("device kind %d is unknown: %w", int(d.Kind), errs.ErrInvalidArgument)
}
