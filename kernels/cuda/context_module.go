package cuda

import (
	"fmt"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// Module is PTX loaded (JIT-compiled) into a Context.
type Module struct {
	ctx    *Context
	handle uintptr
}

// Function is a kernel of a Module.
type Function struct {
	mod    *Module
	handle uintptr
	name   string
}

// LoadModule JIT-compiles PTX text (with or without a terminating NUL)
// for the context's device. A compile failure is an *Error with the JIT's
// log in the message.
func (c *Context) LoadModule(ptx []byte) (*Module, error) {
	if len(ptx) == 0 {
		return nil, fmt.Errorf("cuda: empty module image: %w", errs.ErrInvalidArgument)
	}
	if i := len(ptx) - 1; ptx[i] == 0 {
		ptx = ptx[:i]
	}
	m := &Module{ctx: c}
	err := c.Do(func() error {
		h, log, err := drvModuleLoad(ptx)
		if err != nil {
			if log = strings.TrimSpace(log); log != "" {
				return fmt.Errorf("CUDA device %d: load module: %w; JIT log: %s", c.info.Index, err, log)
			}
			return fmt.Errorf("CUDA device %d: load module: %w", c.info.Index, err)
		}
		m.handle = h
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Context returns the context the module was loaded into.
func (m *Module) Context() *Context { return m.ctx }

// Function looks up the kernel named name (its extern "C" name).
func (m *Module) Function(name string) (*Function, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("cuda: kernel name %q: %w", name, errs.ErrInvalidArgument)
	}
	f := &Function{mod: m, name: name}
	err := m.ctx.Do(func() error {
		if m.handle == 0 {
			return fmt.Errorf("cuda: kernel %s: module is unloaded: %w", name, errs.ErrClosed)
		}
		h, err := drvModuleFunction(m.handle, name)
		if err != nil {
			return fmt.Errorf("cuda: kernel %s: %w", name, err)
		}
		f.handle = h
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Close unloads the module; its Functions must not be launched afterwards
// (graphs that captured them must be closed first).
func (m *Module) Close() error {
	return m.ctx.Do(func() error {
		if m.handle == 0 {
			return nil
		}
		err := drvModuleUnload(m.handle)
		m.handle = 0
		return err
	})
}

// Name returns the kernel's name.
func (f *Function) Name() string { return f.name }

// MaxThreadsPerBlock returns the largest block this kernel can be launched
// with on its device (fewer than the device's limit when it uses many
// registers).
func (f *Function) MaxThreadsPerBlock() (int, error) {
	var v int
	err := f.mod.ctx.Do(func() error {
		var e error
		v, e = drvFuncGetAttr(f.handle, funcAttrMaxThreadsPerBlock)
		return e
	})
	return v, err
}

// SetMaxDynamicShared allows launches of this kernel with up to bytes of
// dynamic shared memory (needed above 48 KiB).
func (f *Function) SetMaxDynamicShared(bytes int) error {
	if bytes < 0 {
		return fmt.Errorf("cuda: kernel %s: shared memory %d: %w", f.name, bytes, errs.ErrInvalidArgument)
	}
	return f.mod.ctx.Do(func() error { return drvFuncSetAttr(f.handle, funcAttrMaxDynamicSharedBytes, bytes) })
}
