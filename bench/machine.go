package bench

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/bitnet-dev/bitnet/kernels"
)

// Machine describes the computer a benchmark ran on.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Memory uint64 `json:"memory_bytes"`
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	Kernel string `json:"kernel,omitempty"`
	Go     string `json:"go"`
	// Features are the SIMD features that matter to the kernels, as the
	// CPU reports them (Linux /proc/cpuinfo flags).
	Features []string `json:"features"`
	// Kernels are the kernel implementations this machine can run,
	// fastest first (kernels.Available).
	Kernels []string `json:"kernels_available"`
}

// featureFlags are the /proc/cpuinfo flags listed in Machine.Features.
var featureFlags = []string{
	"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni",
	"avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "sve",
}

// DescribeMachine reads the CPU's model name, core count, memory and SIMD
// features.
func DescribeMachine() Machine {
	cpu := kernels.CPUInfo()
	m := Machine{CPU: cpu.Name, Cores: runtime.NumCPU(), Memory: cpu.TotalMemory, OS: runtime.GOOS,
		Arch: runtime.GOARCH, Go: runtime.Version(), Kernels: kernels.Available(), Features: []string{}}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	flags := cpuFlags()
	for _, f := range featureFlags {
		if slices.Contains(flags, f) {
			m.Features = append(m.Features, f)
		}
	}
	return m
}

// cpuFlags returns the flags (x86) or features (arm64) of the first CPU in
// /proc/cpuinfo.
func cpuFlags() []string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if k = strings.TrimSpace(k); ok && (k == "flags" || k == "Features") {
			return strings.Fields(v)
		}
	}
	return nil
}
