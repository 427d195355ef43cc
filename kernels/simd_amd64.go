//go:build amd64 && cgo

package kernels

/*
#cgo CFLAGS: -O3 -fno-strict-aliasing -fvisibility=hidden
#include "cpu_x86.h"
*/
import "C"

// x86 SIMD levels, from the CPU's features.
const (
	levelAVX2   = 1
	levelAVX512 = 2 // AVX-512 F/BW/VL with VNNI
)

// x86Features are the CPU's features (BITNET_X86_* flags), read once.
var x86Features = int(C.bitnet_x86_features())

// simd is the backend of x86-64 CPUs with AVX2 or AVX-512: the Reference
// kernels, with the heavy ones replaced by C kernels compiled for each
// instruction set (function-level target attributes; nothing is compiled
// for the build machine's CPU only).
type simd struct {
	*Reference
	level int
	tern  ternaryScratch // per-worker scratch of the ternary kernels (ternary_amd64.go)
}

func (s *simd) Name() string {
	if s.level == levelAVX512 {
		return "avx512"
	}
	return "avx2"
}

// simdLevels lists the SIMD backends this CPU can run, best first.
func simdLevels() []string {
	var out []string
	if x86Features&C.BITNET_X86_AVX512 != 0 && x86Features&C.BITNET_X86_AVX512VNNI != 0 {
		out = append(out, "avx512")
	}
	if x86Features&C.BITNET_X86_AVX2 != 0 {
		out = append(out, "avx2")
	}
	return out
}

// newSIMD returns the SIMD backend named name ("avx512", "avx2").
func newSIMD(pool *Pool, name string) Backend {
	level := levelAVX2
	if name == "avx512" {
		level = levelAVX512
	}
	return &simd{Reference: NewReference(pool), level: level}
}
