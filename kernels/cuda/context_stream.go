package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/bitnet-dev/bitnet/errs"
)

// maxArgs is the most kernel arguments a launch takes (BN_MAX_ARGS in
// driver.h).
const maxArgs = 64

// Stream is a queue of device work of a Context. Its work does not wait for
// the legacy default stream (it is made non-blocking).
type Stream struct {
	ctx    *Context
	handle uintptr
}

// NewStream creates a stream.
func (c *Context) NewStream() (*Stream, error) {
	s := &Stream{ctx: c}
	err := c.Do(func() error {
		h, err := drvStreamCreate()
		s.handle = h
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Context returns the stream's context.
func (s *Stream) Context() *Context { return s.ctx }

// do runs f with the stream's handle on the context's thread.
func (s *Stream) do(f func(h uintptr) error) error {
	return s.ctx.Do(func() error {
		if s.handle == 0 {
			return fmt.Errorf("cuda: stream is closed: %w", errs.ErrClosed)
		}
		return f(s.handle)
	})
}

// Sync waits until the stream's work is done and returns the first error
// of that work.
func (s *Stream) Sync() error { return s.do(drvStreamSynchronize) }

// Close destroys the stream (its queued work still completes).
func (s *Stream) Close() error {
	return s.ctx.Do(func() error {
		if s.handle == 0 {
			return nil
		}
		err := drvStreamDestroy(s.handle)
		s.handle = 0
		return err
	})
}

// marshalArgs encodes kernel arguments, one 8-byte slot each, the value in
// the slot's first bytes (little-endian, as on every CUDA host). Allowed:
// uint64 (a device pointer), Buffer (its pointer), int32, uint32, int64,
// float32. Go's int and float64 are refused: the kernel's parameter size
// must be explicit.
func marshalArgs(args []any, dst []uint64) ([]uint64, error) {
	if len(args) > maxArgs {
		return nil, fmt.Errorf("cuda: %d kernel arguments, at most %d: %w", len(args), maxArgs, errs.ErrInvalidArgument)
	}
	for i, a := range args {
		var v uint64
		switch x := a.(type) {
		case uint64:
			v = x
		case Buffer:
			v = x.Ptr
		case int32:
			v = uint64(uint32(x))
		case uint32:
			v = uint64(x)
		case int64:
			v = uint64(x)
		case float32:
			v = uint64(math.Float32bits(x))
		default:
			return nil, fmt.Errorf("cuda: kernel argument %d has type %T (want uint64, Buffer, int32, uint32, int64 or float32): %w",
				i, a, errs.ErrInvalidArgument)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// Launch queues kernel f on the stream with the given grid and block
// dimensions, dynamic shared memory and arguments (see marshalArgs for
// the types). An invalid configuration is an *Error from cuLaunchKernel;
// errors of the kernel's execution show at the next Sync.
func (s *Stream) Launch(f *Function, grid, block [3]uint32, sharedBytes uint32, args ...any) error {
	if f == nil || f.handle == 0 {
		return fmt.Errorf("cuda: launch of a nil kernel: %w", errs.ErrInvalidArgument)
	}
	if f.mod.ctx != s.ctx {
		return fmt.Errorf("cuda: kernel %s belongs to another context: %w", f.name, errs.ErrInvalidArgument)
	}
	var buf [16]uint64
	vals, err := marshalArgs(args, buf[:0])
	if err != nil {
		return fmt.Errorf("kernel %s: %w", f.name, err)
	}
	err = s.do(func(h uintptr) error {
		if f.mod.handle == 0 {
			return fmt.Errorf("cuda: kernel %s: module is unloaded: %w", f.name, errs.ErrClosed)
		}
		if err := drvLaunch(f.handle, grid, block, sharedBytes, h, vals); err != nil {
			return fmt.Errorf("kernel %s grid %v block %v: %w", f.name, grid, block, err)
		}
		return nil
	})
	if err == nil {
		s.ctx.stats.launches.Add(1)
	}
	return err
}

// UploadAsync queues a copy of bytes bytes from host memory at src to dst
// at offset off. From ordinary (pageable) host memory, Go memory included,
// the driver stages the data before it returns, so src may be reused at
// once; such copies cannot be captured in a graph. src must not hold Go
// pointers.
func (s *Stream) UploadAsync(dst Buffer, off int64, src unsafe.Pointer, bytes int64) error {
	if err := dst.span(off, bytes); err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	if src == nil {
		return fmt.Errorf("cuda: upload from a nil pointer: %w", errs.ErrInvalidArgument)
	}
	err := s.do(func(h uintptr) error { return drvMemcpyHtoDAsync(dst.Ptr+uint64(off), src, uint64(bytes), h) })
	if err == nil {
		s.ctx.stats.toDevice.Add(uint64(bytes))
	}
	return err
}

// DownloadAsync queues a copy of bytes bytes from src at offset off to host
// memory at dst. To ordinary (pageable) host memory the call returns only
// when the copy is done (after the stream's earlier work).
func (s *Stream) DownloadAsync(dst unsafe.Pointer, src Buffer, off int64, bytes int64) error {
	if err := src.span(off, bytes); err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	if dst == nil {
		return fmt.Errorf("cuda: download to a nil pointer: %w", errs.ErrInvalidArgument)
	}
	err := s.do(func(h uintptr) error { return drvMemcpyDtoHAsync(dst, src.Ptr+uint64(off), uint64(bytes), h) })
	if err == nil {
		s.ctx.stats.toHost.Add(uint64(bytes))
	}
	return err
}

// CopyAsync queues a device-to-device copy of bytes bytes (capturable).
func (s *Stream) CopyAsync(dst Buffer, dstOff int64, src Buffer, srcOff int64, bytes int64) error {
	if err := dst.span(dstOff, bytes); err != nil {
		return err
	}
	if err := src.span(srcOff, bytes); err != nil {
		return err
	}
	if bytes == 0 {
		return nil
	}
	return s.do(func(h uintptr) error {
		return drvMemcpyDtoDAsync(dst.Ptr+uint64(dstOff), src.Ptr+uint64(srcOff), uint64(bytes), h)
	})
}

// MemsetAsync queues setting every byte of b to v (capturable).
func (s *Stream) MemsetAsync(b Buffer, v byte) error {
	if err := b.span(0, b.Size); err != nil {
		return err
	}
	return s.do(func(h uintptr) error { return drvMemsetD8Async(b.Ptr, v, uint64(b.Size), h) })
}

// UploadFloat32Async queues a copy of src to the start of dst.
func (s *Stream) UploadFloat32Async(dst Buffer, src []float32) error {
	p, n := sliceBytes(src)
	return s.UploadAsync(dst, 0, p, n)
}

// UploadInt32Async queues a copy of src to the start of dst.
func (s *Stream) UploadInt32Async(dst Buffer, src []int32) error {
	p, n := sliceBytes(src)
	return s.UploadAsync(dst, 0, p, n)
}

// DownloadFloat32Async copies the start of src to dst after the stream's
// earlier work (it returns when the copy is done).
func (s *Stream) DownloadFloat32Async(dst []float32, src Buffer) error {
	p, n := sliceBytes(dst)
	return s.DownloadAsync(p, src, 0, n)
}

// DownloadInt32Async copies the start of src to dst after the stream's
// earlier work (it returns when the copy is done).
func (s *Stream) DownloadInt32Async(dst []int32, src Buffer) error {
	p, n := sliceBytes(dst)
	return s.DownloadAsync(p, src, 0, n)
}

// Event marks a point in a stream's work, for waiting and timing.
type Event struct {
	ctx    *Context
	handle uintptr
}

// NewEvent creates an event (with timing).
func (c *Context) NewEvent() (*Event, error) {
	e := &Event{ctx: c}
	err := c.Do(func() error {
		h, err := drvEventCreate()
		e.handle = h
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// do runs f with the event's handle on the context's thread.
func (e *Event) do(f func(h uintptr) error) error {
	return e.ctx.Do(func() error {
		if e.handle == 0 {
			return fmt.Errorf("cuda: event is closed: %w", errs.ErrClosed)
		}
		return f(e.handle)
	})
}

// Record marks the current end of s's queued work.
func (e *Event) Record(s *Stream) error {
	if s == nil || s.ctx != e.ctx {
		return fmt.Errorf("cuda: record an event on a stream of another context: %w", errs.ErrInvalidArgument)
	}
	return e.do(func(h uintptr) error {
		if s.handle == 0 {
			return fmt.Errorf("cuda: stream is closed: %w", errs.ErrClosed)
		}
		return drvEventRecord(h, s.handle)
	})
}

// Sync waits until the work before the event's last Record is done.
func (e *Event) Sync() error { return e.do(drvEventSynchronize) }

// Close destroys the event.
func (e *Event) Close() error {
	return e.ctx.Do(func() error {
		if e.handle == 0 {
			return nil
		}
		err := drvEventDestroy(e.handle)
		e.handle = 0
		return err
	})
}

// ElapsedMS returns the milliseconds between two recorded events of one
// context (both must have completed: Sync end first).
func ElapsedMS(start, end *Event) (float32, error) {
	if start == nil || end == nil || start.ctx != end.ctx {
		return 0, fmt.Errorf("cuda: events of different contexts: %w", errs.ErrInvalidArgument)
	}
	var ms float32
	err := start.do(func(h uintptr) error {
		if end.handle == 0 {
			return fmt.Errorf("cuda: event is closed: %w", errs.ErrClosed)
		}
		var e error
		ms, e = drvEventElapsed(h, end.handle)
		return e
	})
	return ms, err
}
