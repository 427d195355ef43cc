package cuda

import (
	"errors"
	"math"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// skipWithDevice skips tests of the no-device paths on a machine with a GPU.
func skipWithDevice(t *testing.T) {
	t.Helper()
	if n, err := DeviceCount(); err == nil {
		t.Skipf("this machine has %d CUDA devices", n)
	}
}

func TestEntryPointsWithoutDeviceWrapErrNoDevice(t *testing.T) {
	skipWithDevice(t)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrNoDevice) || !errors.Is(err, errs.ErrDevice) || !IsNoDevice(err) {
			t.Errorf("%s: error %v does not wrap ErrNoDevice and errs.ErrDevice", what, err)
		}
	}
	n, err := DeviceCount()
	if n != 0 {
		t.Errorf("DeviceCount = %d without a device", n)
	}
	check("DeviceCount", err)
	_, err = DriverVersion()
	check("DriverVersion", err)
	devs, err := Devices()
	if devs != nil {
		t.Errorf("Devices = %v without a device", devs)
	}
	check("Devices", err)
	_, err = Query(0)
	check("Query", err)
	c, err := NewContext(0)
	if c != nil {
		t.Error("NewContext returned a context without a device")
	}
	check("NewContext", err)
	k, err := NewCudaKernel(0)
	if k != nil {
		t.Error("NewCudaKernel returned a kernel without a device")
	}
	check("NewCudaKernel", err)
	if got := AvailableTargets(); len(got) != 1 || got[0].Kind != TargetCPU {
		t.Errorf("AvailableTargets = %v, want only the CPU", got)
	}
	if err1, err2 := Load(), Load(); err1 != err2 {
		t.Errorf("Load gave %v, then %v", err1, err2)
	}
}

func TestQueryNegativeIndexIsInvalidArgument(t *testing.T) {
	if _, err := Query(-1); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Query(-1): %v, want errs.ErrInvalidArgument", err)
	}
}

func TestDriverErrorUnwrapsToDeviceAndMemoryKinds(t *testing.T) {
	oom := &Error{Call: "cuMemAlloc_v2", Code: codeOutOfMemory, Name: "CUDA_ERROR_OUT_OF_MEMORY", Msg: "out of memory"}
	if !errors.Is(oom, errs.ErrDevice) || !errors.Is(oom, errs.ErrMemory) {
		t.Errorf("out of memory is not both ErrDevice and ErrMemory")
	}
	other := &Error{Call: "cuLaunchKernel", Code: codeInvalidValue}
	if !errors.Is(other, errs.ErrDevice) || errors.Is(other, errs.ErrMemory) {
		t.Errorf("invalid value: want ErrDevice only")
	}
	wrapped := noDevice("initialize", &Error{Call: "cuInit", Code: codeNoDevice})
	var e *Error
	if !errors.Is(wrapped, ErrNoDevice) || !errors.As(wrapped, &e) || e.Code != codeNoDevice {
		t.Errorf("noDevice(%v) loses ErrNoDevice or the *Error", wrapped)
	}
}

func TestMarshalArgsEncodesEachTypeInItsSlot(t *testing.T) {
	got, err := marshalArgs([]any{uint64(0xdeadbeef00), Buffer{Ptr: 0x1000, Size: 4}, int32(-1), uint32(7), int64(-2), float32(1.5)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{0xdeadbeef00, 0x1000, 0xffffffff, 7, 0xfffffffffffffffe, uint64(math.Float32bits(1.5))}
	if len(got) != len(want) {
		t.Fatalf("got %d slots, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("slot %d = %#x, want %#x", i, got[i], want[i])
		}
	}
	for _, bad := range []any{1, 1.5, "x", nil, &Buffer{}} {
		if _, err := marshalArgs([]any{bad}, nil); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("argument %#v: %v, want errs.ErrInvalidArgument", bad, err)
		}
	}
	if _, err := marshalArgs(make([]any, maxArgs+1), nil); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("%d arguments: %v, want errs.ErrInvalidArgument", maxArgs+1, err)
	}
}

func TestLaunchConfigsCoverTheWorkWithinDeviceLimits(t *testing.T) {
	devs := []DeviceInfo{
		{MaxThreadsPerBlock: 1024, WarpSize: 32, Multiprocessors: 132},
		{MaxThreadsPerBlock: 96, WarpSize: 32, Multiprocessors: 2},
	}
	for _, d := range devs {
		for _, n := range []int{0, 1, 31, 256, 1000, 1 << 20, 1<<20 + 3} {
			grid, block := d.LaunchConfig(n)
			threads := int(block[0])
			if threads > d.MaxThreadsPerBlock || threads%d.WarpSize != 0 || threads <= 0 {
				t.Errorf("%d max threads: block %v is not whole warps within the limit", d.MaxThreadsPerBlock, block)
			}
			if int(grid[0])*threads < n || grid[0] < 1 || (n > 0 && int(grid[0]-1)*threads >= n) {
				t.Errorf("LaunchConfig(%d) = grid %v block %v: does not cover n tightly", n, grid, block)
			}
			g, b := d.GridStride(n)
			if b != block || g[0] > grid[0] || g[0] < 1 || int(g[0]) > d.Multiprocessors*2*d.MaxThreadsPerBlock/threads {
				t.Errorf("GridStride(%d) = %v %v", n, g, b)
			}
			grid, block = d.WarpPerRow(n)
			if block[0] != uint32(d.WarpSize) || int(block[0]*block[1]) > d.MaxThreadsPerBlock || int(grid[0]*block[1]) < n {
				t.Errorf("WarpPerRow(%d) = grid %v block %v", n, grid, block)
			}
			grid, block = d.BlockPerRow(n, 100)
			if int(grid[0]) != max(n, 1) || int(block[0]) > d.MaxThreadsPerBlock || block[0]%uint32(d.WarpSize) != 0 {
				t.Errorf("BlockPerRow(%d, 100) = grid %v block %v", n, grid, block)
			}
		}
	}
}

func TestBufferSliceChecksBounds(t *testing.T) {
	b := Buffer{Ptr: 0x10000, Size: 100}
	s, err := b.Slice(40, 60)
	if err != nil || s.Ptr != 0x10000+40 || s.Size != 60 {
		t.Errorf("Slice(40, 60) = %+v, %v", s, err)
	}
	for _, c := range [][2]int64{{-1, 1}, {0, 101}, {101, 0}, {50, 51}, {0, -1}} {
		if _, err := b.Slice(c[0], c[1]); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("Slice(%d, %d): %v, want errs.ErrInvalidArgument", c[0], c[1], err)
		}
	}
	if _, err := (Buffer{}).Slice(0, 0); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("slice of the zero Buffer: %v", err)
	}
}
