//go:build unix

// Package mmap maps files read-only into memory.
package mmap

import (
	"fmt"
	"os"
	"syscall"

	"github.com/bitnet-dev/bitnet/errs"
)

// Map maps path read-only and returns its bytes and a function that unmaps
// them (nil for an empty file, which maps to an empty slice).
func Map(path string) ([]byte, func() error, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file: %w", path, errs.ErrInvalidArgument)
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, nil, nil
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("file of %d bytes is too large to map: %w", size, errs.ErrMemory)
	}
	data, err := syscall.Mmap(int(fh.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
