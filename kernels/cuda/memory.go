package cuda

import (
	"fmt"
	"unsafe"

	"github.com/bitnet-dev/bitnet/errs"
)

// Buffer is a block of device memory: its device pointer (what kernels
// take) and its size in bytes. It is a plain value; Context.Free frees it.
type Buffer struct {
	Ptr  uint64
	Size int64
}

// Slice returns the part of b of bytes bytes at offset off (no copy).
func (b Buffer) Slice(off, bytes int64) (Buffer, error) {
	if err := b.span(off, bytes); err != nil {
		return Buffer{}, err
	}
	return Buffer{Ptr: b.Ptr + uint64(off), Size: bytes}, nil
}

// span checks that [off, off+bytes) lies within b.
func (b Buffer) span(off, bytes int64) error {
	if b.Ptr == 0 {
		return fmt.Errorf("cuda: null buffer: %w", errs.ErrInvalidArgument)
	}
	if off < 0 || bytes < 0 || off > b.Size || bytes > b.Size-off {
		return fmt.Errorf("cuda: %d bytes at offset %d do not fit a buffer of %d: %w", bytes, off, b.Size, errs.ErrInvalidArgument)
	}
	return nil
}

// Alloc allocates bytes bytes of device memory (uninitialized). Running out
// of device memory is an *Error that is also errs.ErrMemory.
func (c *Context) Alloc(bytes int64) (Buffer, error) {
	if bytes <= 0 {
		return Buffer{}, fmt.Errorf("cuda: allocate %d bytes: %w", bytes, errs.ErrInvalidArgument)
	}
	var b Buffer
	err := c.Do(func() error {
		p, err := drvMemAlloc(uint64(bytes))
		if err != nil {
			return fmt.Errorf("CUDA device %d: allocate %d bytes: %w", c.info.Index, bytes, err)
		}
		b = Buffer{Ptr: p, Size: bytes}
		return nil
	})
	if err == nil {
		now := c.stats.allocated.Add(bytes)
		for {
			peak := c.stats.peak.Load()
			if now <= peak || c.stats.peak.CompareAndSwap(peak, now) {
				break
			}
		}
	}
	return b, err
}

// Free frees a buffer from Alloc. Freeing the zero Buffer does nothing.
func (c *Context) Free(b Buffer) error {
	if b.Ptr == 0 {
		return nil
	}
	err := c.Do(func() error { return drvMemFree(b.Ptr) })
	if err == nil {
		c.stats.allocated.Add(-b.Size)
	}
	return err
}

// Upload copies bytes bytes from host memory at src to dst at offset off,
// and returns when the data is on the device (the copy runs on the legacy
// default stream, which the package's streams do not wait for, so Upload
// waits for it). src may be Go memory (the copy does not keep it) but must
// not hold Go pointers.
func (c *Context) Upload(dst Buffer, off int64, src unsafe.Pointer, bytes int64) error {
	if err := dst.span(off, bytes); err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	if src == nil {
		return fmt.Errorf("cuda: upload from a nil pointer: %w", errs.ErrInvalidArgument)
	}
	err := c.Do(func() error {
		if err := drvMemcpyHtoD(dst.Ptr+uint64(off), src, uint64(bytes)); err != nil {
			return err
		}
		return drvStreamSynchronize(legacyStream)
	})
	if err == nil {
		c.stats.toDevice.Add(uint64(bytes))
	}
	return err
}

// Download copies bytes bytes from src at offset off to host memory at dst,
// and returns when the copy is done (after the work queued before it on
// the legacy default stream; use a Stream's Sync first for work on other
// streams).
func (c *Context) Download(dst unsafe.Pointer, src Buffer, off int64, bytes int64) error {
	if err := src.span(off, bytes); err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	if dst == nil {
		return fmt.Errorf("cuda: download to a nil pointer: %w", errs.ErrInvalidArgument)
	}
	err := c.Do(func() error { return drvMemcpyDtoH(dst, src.Ptr+uint64(off), uint64(bytes)) })
	if err == nil {
		c.stats.toHost.Add(uint64(bytes))
	}
	return err
}

// Memset sets every byte of b to v and returns when that is done (on the
// legacy default stream, which Memset waits for).
func (c *Context) Memset(b Buffer, v byte) error {
	if err := b.span(0, b.Size); err != nil {
		return err
	}
	return c.Do(func() error {
		if err := drvMemsetD8(b.Ptr, v, uint64(b.Size)); err != nil {
			return err
		}
		return drvStreamSynchronize(legacyStream)
	})
}

// legacyStream is the handle of the legacy default stream, where the
// driver's synchronous copies and memsets run.
const legacyStream = 0

// sliceBytes returns the size and address of a slice's elements (nil for
// an empty slice).
func sliceBytes[T any](s []T) (unsafe.Pointer, int64) {
	if len(s) == 0 {
		return nil, 0
	}
	var z T
	return unsafe.Pointer(unsafe.SliceData(s)), int64(len(s)) * int64(unsafe.Sizeof(z))
}

// UploadFloat32 copies src to the start of dst.
func (c *Context) UploadFloat32(dst Buffer, src []float32) error {
	p, n := sliceBytes(src)
	return c.Upload(dst, 0, p, n)
}

// UploadInt32 copies src to the start of dst.
func (c *Context) UploadInt32(dst Buffer, src []int32) error {
	p, n := sliceBytes(src)
	return c.Upload(dst, 0, p, n)
}

// UploadInt8 copies src to the start of dst.
func (c *Context) UploadInt8(dst Buffer, src []int8) error {
	p, n := sliceBytes(src)
	return c.Upload(dst, 0, p, n)
}

// UploadUint16 copies src (e.g. F16 bits) to the start of dst.
func (c *Context) UploadUint16(dst Buffer, src []uint16) error {
	p, n := sliceBytes(src)
	return c.Upload(dst, 0, p, n)
}

// UploadBytes copies src to the start of dst.
func (c *Context) UploadBytes(dst Buffer, src []byte) error {
	p, n := sliceBytes(src)
	return c.Upload(dst, 0, p, n)
}

// DownloadFloat32 fills dst from the start of src.
func (c *Context) DownloadFloat32(dst []float32, src Buffer) error {
	p, n := sliceBytes(dst)
	return c.Download(p, src, 0, n)
}

// DownloadInt32 fills dst from the start of src.
func (c *Context) DownloadInt32(dst []int32, src Buffer) error {
	p, n := sliceBytes(dst)
	return c.Download(p, src, 0, n)
}

// DownloadInt8 fills dst from the start of src.
func (c *Context) DownloadInt8(dst []int8, src Buffer) error {
	p, n := sliceBytes(dst)
	return c.Download(p, src, 0, n)
}

// DownloadBytes fills dst from the start of src.
func (c *Context) DownloadBytes(dst []byte, src Buffer) error {
	p, n := sliceBytes(dst)
	return c.Download(p, src, 0, n)
}

// AllocFloat32 allocates a buffer for n float32 values and, when init is
// not nil, uploads init (len(init) <= n) to its start.
func (c *Context) AllocFloat32(n int, init []float32) (Buffer, error) {
	if len(init) > n {
		return Buffer{}, fmt.Errorf("cuda: %d initial values for %d elements: %w", len(init), n, errs.ErrInvalidArgument)
	}
	b, err := c.Alloc(int64(n) * 4)
	if err != nil {
		return Buffer{}, err
	}
	if err := c.UploadFloat32(b, init); err != nil {
		_ = c.Free(b)
		return Buffer{}, err
	}
	return b, nil
}
