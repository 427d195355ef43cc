//go:build linux

package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// CurrentRSS is the resident set size of this process in bytes (from
// /proc/self/statm; 0 when unknown). Pages of a mapped model file count
// once they have been read.
func CurrentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// MaxRSS is the peak resident set size of the process over its lifetime
// (getrusage ru_maxrss), in bytes.
func MaxRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil || ru.Maxrss < 0 {
		return 0
	}
	return uint64(ru.Maxrss) << 10
}

// PeakRSS is the peak resident set size since the last ResetPeakRSS (or
// the process start), in bytes (VmHWM of /proc/self/status; 0 when
// unknown).
func PeakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0
			}
			n, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0
			}
			return n << 10
		}
	}
	return 0
}

// ResetPeakRSS sets the peak that PeakRSS reports to the current resident
// set size (Linux 4.0+: "5" written to /proc/self/clear_refs), and reports
// whether it could.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// DropPageCache writes dirty pages back and drops the kernel's clean page
// cache, so that the next read of a model file comes from the disk. It
// needs root (a writable /proc/sys/vm/drop_caches).
func DropPageCache() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0)
}
