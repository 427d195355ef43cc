package engine

import (
	"errors"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
)

func TestDevicesListTheCPUFirstThenEveryGPU(t *testing.T) {
	devs := Devices()
	if len(devs) == 0 || devs[0].Kind != "cpu" || !devs[0].Available {
		t.Fatalf("Devices() = %+v, want the CPU first", devs)
	}
	n, err := cuda.DeviceCount()
	if err != nil {
		n = 0
	}
	if len(devs) != 1+n {
		t.Fatalf("Devices() lists %d devices, want the CPU and %d GPUs", len(devs), n)
	}
	for i, d := range devs[1:] {
		if d.Kind != "cuda" || d.Index != i || !d.Available || d.Name == "" || d.TotalMemory == 0 || d.ComputeMajor == 0 {
			t.Errorf("GPU %d: %+v", i, d)
		}
		q, err := QueryDevice(Device{Kind: DeviceCUDA, Index: i})
		if err != nil || q.Name != d.Name || q.TotalMemory != d.TotalMemory {
			t.Errorf("QueryDevice(cuda:%d) = %+v, %v; Devices() says %+v", i, q, err, d)
		}
	}
}

func TestAutoResolvesToTheCPU(t *testing.T) {
	for _, d := range []Device{{Kind: DeviceAuto}, {Kind: DeviceCPU}} {
		r, err := resolveDevice(d)
		if err != nil || r.Kind != DeviceCPU {
			t.Errorf("resolveDevice(%v) = %v, %v; want cpu", d, r, err)
		}
	}
	info, err := QueryDevice(Device{Kind: DeviceAuto})
	if err != nil || info.Kind != "cpu" {
		t.Errorf("QueryDevice(auto) = %+v, %v", info, err)
	}
}

func TestMissingCUDADevicesFailWithDeviceErrors(t *testing.T) {
	n, err := cuda.DeviceCount()
	if err != nil {
		n = 0
	}
	for _, d := range []Device{{Kind: DeviceCUDA, Index: n}, {Kind: DeviceCUDA, Index: n + 5}, {Kind: DeviceMetal}} {
		if _, err := resolveDevice(d); !errors.Is(err, errs.ErrDevice) {
			t.Errorf("resolveDevice(%v): %v, want errs.ErrDevice", d, err)
		}
		if _, err := QueryDevice(d); !errors.Is(err, errs.ErrDevice) {
			t.Errorf("QueryDevice(%v): %v, want errs.ErrDevice", d, err)
		}
	}
	if _, err := resolveDevice(Device{Kind: DeviceCUDA, Index: -1}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("cuda:-1: %v, want errs.ErrInvalidArgument", err)
	}
	for i := 0; i < n; i++ {
		if r, err := resolveDevice(Device{Kind: DeviceCUDA, Index: i}); err != nil || r.Index != i {
			t.Errorf("present cuda:%d: %v, %v", i, r, err)
		}
	}
}

func TestParseDeviceAcceptsTheUsersSpellings(t *testing.T) {
	for in, want := range map[string]Device{
		"": {Kind: DeviceAuto}, "auto": {Kind: DeviceAuto}, "CPU": {Kind: DeviceCPU},
		"cuda": {Kind: DeviceCUDA}, "cuda:1": {Kind: DeviceCUDA, Index: 1}, "metal": {Kind: DeviceMetal},
	} {
		if got, err := ParseDevice(in); err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"tpu", "cuda:-1", "cuda:x"} {
		if _, err := ParseDevice(bad); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("ParseDevice(%q): %v", bad, err)
		}
	}
}
