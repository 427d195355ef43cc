//go:build !amd64 || !cgo

package kernels

// simdLevels lists the SIMD backends this CPU can run: none in this build.
func simdLevels() []string { return nil }

func newSIMD(pool *Pool, name string) Backend { return nil }
