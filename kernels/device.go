package kernels

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// DeviceInfo describes a compute device and what it can do.
type DeviceInfo struct {
	Kind         string `json:"kind"` // "cpu", "cuda", "metal"
	Index        int    `json:"index"`
	Name         string `json:"name"`
	TotalMemory  uint64 `json:"total_memory"` // bytes; 0 if unknown
	FreeMemory   uint64 `json:"free_memory"`
	SupportsF16  bool   `json:"supports_f16"`
	SupportsBF16 bool   `json:"supports_bf16"`
	SupportsInt8 bool   `json:"supports_int8"`
	MaxThreads   int    `json:"max_threads"`
	ComputeMajor int    `json:"compute_major"` // CUDA compute capability
	ComputeMinor int    `json:"compute_minor"`
	// Multiprocessors is a GPU's SM count (0 for a CPU).
	Multiprocessors int  `json:"multiprocessors"`
	Available       bool `json:"available"`
}

// CPUInfo describes this machine's CPU: its model name and, on Linux, the
// total and available memory.
func CPUInfo() DeviceInfo {
	d := DeviceInfo{Kind: "cpu", Name: runtime.GOARCH, SupportsF16: true, SupportsBF16: true, SupportsInt8: true,
		MaxThreads: runtime.NumCPU(), Available: true}
	if name := procField("/proc/cpuinfo", "model name"); name != "" {
		d.Name = name
	}
	d.TotalMemory = procKiB("MemTotal")
	d.FreeMemory = procKiB("MemAvailable")
	return d
}

// procField returns the value of the first "key : value" line of a /proc
// file ("" when absent).
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procKiB reads a "<key>: N kB" line of /proc/meminfo as bytes.
func procKiB(key string) uint64 {
	f := strings.Fields(procField("/proc/meminfo", key))
	if len(f) == 0 {
		return 0
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return n << 10
}
