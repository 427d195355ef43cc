//go:build !unix

// Package mmap maps files read-only into memory.
package mmap

import "os"

// Map reads the whole file where memory mapping is not implemented.
func Map(path string) ([]byte, func() error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, nil, nil
}
