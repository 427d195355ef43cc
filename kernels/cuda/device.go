package cuda

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// DeviceCount returns the number of CUDA devices. With none (or no usable
// driver) it returns 0 and an error wrapping ErrNoDevice.
func DeviceCount() (int, error) {
	if err := Load(); err != nil {
		return 0, err
	}
	n, err := drvDeviceCount()
	if err != nil {
		return 0, noDevice("count CUDA devices", err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("the CUDA driver reports no device: %w", ErrNoDevice)
	}
	return n, nil
}

// Devices describes every CUDA device, in index order.
func Devices() ([]DeviceInfo, error) {
	n, err := DeviceCount()
	if err != nil {
		return nil, err
	}
	out := make([]DeviceInfo, 0, n)
	for i := 0; i < n; i++ {
		d, err := query(i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Query describes device index. The free memory is read through the
// device's primary context (retained for the call when no Context holds
// it, which costs the driver's context setup).
func Query(index int) (DeviceInfo, error) {
	if err := checkIndex(index); err != nil {
		return DeviceInfo{}, err
	}
	return query(index)
}

// checkIndex checks that device index exists.
func checkIndex(index int) error {
	if index < 0 {
		return fmt.Errorf("CUDA device %d: negative index: %w", index, errs.ErrInvalidArgument)
	}
	n, err := DeviceCount()
	if err != nil {
		return err
	}
	if index >= n {
		return fmt.Errorf("CUDA device %d: this machine has %d: %w", index, n, ErrNoDevice)
	}
	return nil
}

func query(index int) (DeviceInfo, error) {
	dev, err := drvDeviceGet(index)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("CUDA device %d: %w", index, err)
	}
	d := DeviceInfo{Index: index, DriverVersion: loaded.version}
	if d.Name, err = drvDeviceName(dev); err != nil {
		return DeviceInfo{}, fmt.Errorf("CUDA device %d: %w", index, err)
	}
	if d.TotalMemory, err = drvDeviceTotalMem(dev); err != nil {
		return DeviceInfo{}, fmt.Errorf("CUDA device %d: %w", index, err)
	}
	required := []struct {
		dst  *int
		attr int
	}{
		{&d.ComputeMajor, attrComputeCapabilityMajr},
		{&d.ComputeMinor, attrComputeCapabilityMinr},
		{&d.Multiprocessors, attrMultiprocessorCount},
		{&d.MaxThreadsPerBlock, attrMaxThreadsPerBlock},
		{&d.MaxSharedPerBlock, attrMaxSharedPerBlock},
		{&d.WarpSize, attrWarpSize},
	}
	for _, a := range required {
		if *a.dst, err = drvDeviceAttr(dev, a.attr); err != nil {
			return DeviceInfo{}, fmt.Errorf("CUDA device %d: attribute %d: %w", index, a.attr, err)
		}
	}
	// Informational attributes: newer drivers may retire some; 0 then.
	optional := []struct {
		dst  *int
		attr int
	}{
		{&d.ClockKHz, attrClockRate},
		{&d.MemoryClockKHz, attrMemoryClockRate},
		{&d.MemoryBusWidth, attrGlobalMemoryBusWidth},
		{&d.L2CacheBytes, attrL2CacheSize},
	}
	for _, a := range optional {
		if v, err := drvDeviceAttr(dev, a.attr); err == nil {
			*a.dst = v
		}
	}
	free, total, err := drvDeviceMemInfo(dev)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("CUDA device %d: memory: %w", index, err)
	}
	d.FreeMemory = free
	if total > 0 {
		d.TotalMemory = total
	}
	return d, nil
}

// preferredBlock is the block size of the element-wise launch helpers, a
// tuning choice capped by the device's limit.
const preferredBlock = 256

// blockSize returns the block size of the element-wise launches: the
// preferred size, within the device's limit, in whole warps.
func (d DeviceInfo) blockSize() int {
	b := preferredBlock
	if d.MaxThreadsPerBlock > 0 && b > d.MaxThreadsPerBlock {
		b = d.MaxThreadsPerBlock
	}
	if w := d.warp(); b >= w {
		b -= b % w
	}
	return max(b, 1)
}

// warp is the warp size (32 when the info is not from a device).
func (d DeviceInfo) warp() int {
	if d.WarpSize > 0 {
		return d.WarpSize
	}
	return 32
}

// ceilDiv returns ceil(a/b) for a >= 0, b > 0, as a grid dimension (at
// least 1).
func ceilDiv(a, b int) uint32 {
	return uint32(max((a+b-1)/b, 1))
}

// LaunchConfig returns a 1-D launch with one thread per element for n
// elements (n <= 0 gives one block): blocks of the preferred size within
// the device's limit, as many as cover n.
func (d DeviceInfo) LaunchConfig(n int) (grid, block [3]uint32) {
	b := d.blockSize()
	return [3]uint32{ceilDiv(n, b), 1, 1}, [3]uint32{uint32(b), 1, 1}
}

// WarpPerRow returns a launch with one warp per row for rows rows: blocks
// of whole warps (blockDim.x = warp size, blockDim.y = warps per block),
// as many blocks as cover the rows. Row r is blockIdx.x*blockDim.y +
// threadIdx.y.
func (d DeviceInfo) WarpPerRow(rows int) (grid, block [3]uint32) {
	w := d.warp()
	per := max(d.blockSize()/w, 1)
	return [3]uint32{ceilDiv(rows, per), 1, 1}, [3]uint32{uint32(w), uint32(per), 1}
}

// BlockPerRow returns a launch with one block of threads threads per row
// (threads rounded up to whole warps and capped by the device's limit).
func (d DeviceInfo) BlockPerRow(rows, threads int) (grid, block [3]uint32) {
	w := d.warp()
	t := max((threads+w-1)/w*w, w)
	if d.MaxThreadsPerBlock > 0 && t > d.MaxThreadsPerBlock {
		t = d.MaxThreadsPerBlock
	}
	return [3]uint32{uint32(max(rows, 1)), 1, 1}, [3]uint32{uint32(t), 1, 1}
}

// GridStride returns a 1-D launch for a grid-stride loop over n elements:
// the blocks of LaunchConfig, but no more than fill every multiprocessor
// with two maximal blocks' worth of threads.
func (d DeviceInfo) GridStride(n int) (grid, block [3]uint32) {
	grid, block = d.LaunchConfig(n)
	if d.Multiprocessors > 0 && d.MaxThreadsPerBlock > 0 {
		perSM := max(2*d.MaxThreadsPerBlock/int(block[0]), 1)
		grid[0] = min(grid[0], uint32(d.Multiprocessors*perSM))
	}
	return grid, block
}

// ComputeCapability returns the compute capability as major*10+minor (90
// for 9.0).
func (d DeviceInfo) ComputeCapability() int { return d.ComputeMajor*10 + d.ComputeMinor }
