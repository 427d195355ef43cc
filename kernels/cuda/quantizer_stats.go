package cuda

import (
	"fmt"
	"strings"
	"time"
)

// DeviceStats are the running totals of a DeviceAwareQuantizer.
type DeviceStats struct {
	// DeviceType describes the providers: "cuda+cpu-fallback" or "cpu".
	DeviceType string
	// Target is the device the quantizer was asked for.
	Target Target

	TotalOperations        uint64 // GPUOperations + CPUOperations
	QuantizationOperations uint64
	MatMulOperations       uint64
	TotalTime              time.Duration // wall time of every operation
	QuantizationTime       time.Duration
	MatMulTime             time.Duration

	GPUOperations uint64 // operations the GPU completed
	CPUOperations uint64 // operations the CPU completed (fallbacks included)
	Fallbacks     uint64 // GPU failures that the CPU redid
	// Efficiency is GPUOperations / TotalOperations (0 with no operation).
	Efficiency float64

	LastGPUError string // the last GPU failure ("" if none)
	LastCPUError string // the last CPU failure ("" if none)

	// GPU memory in bytes (0 when the GPU implementation does not report
	// it): used = total - free.
	GPUMemoryUsed  uint64
	GPUMemoryTotal uint64
}

// AvgQuantizationTime is the mean time of a quantization.
func (s DeviceStats) AvgQuantizationTime() time.Duration {
	if s.QuantizationOperations == 0 {
		return 0
	}
	return s.QuantizationTime / time.Duration(s.QuantizationOperations)
}

// AvgMatMulTime is the mean time of a matrix product.
func (s DeviceStats) AvgMatMulTime() time.Duration {
	if s.MatMulOperations == 0 {
		return 0
	}
	return s.MatMulTime / time.Duration(s.MatMulOperations)
}

// IsGPUEffective reports whether more than 80% of the operations ran on
// the GPU.
func (s DeviceStats) IsGPUEffective() bool { return s.Efficiency > 0.8 }

// Summary is a one-line human-readable account.
func (s DeviceStats) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %v: %d ops (%d quantize, %d matmul), GPU %d, CPU %d, fallbacks %d, GPU efficiency %.1f%%, time %v",
		s.DeviceType, s.Target, s.TotalOperations, s.QuantizationOperations, s.MatMulOperations,
		s.GPUOperations, s.CPUOperations, s.Fallbacks, 100*s.Efficiency, s.TotalTime)
	if s.GPUMemoryTotal > 0 {
		fmt.Fprintf(&b, ", GPU memory %.1f / %.1f MiB", float64(s.GPUMemoryUsed)/(1<<20), float64(s.GPUMemoryTotal)/(1<<20))
	}
	if s.LastGPUError != "" {
		fmt.Fprintf(&b, ", last GPU error: %s", s.LastGPUError)
	}
	if s.LastCPUError != "" {
		fmt.Fprintf(&b, ", last CPU error: %s", s.LastCPUError)
	}
	return b.String()
}

// opKind and opOutcome classify one recorded operation.
type opKind int

const (
	opQuantize opKind = iota
	opMatMul
)

type opOutcome int

const (
	onGPU     opOutcome = iota // the GPU did it
	onCPU                      // the CPU did it
	fallback                   // the GPU failed (the CPU does it next)
	cpuFailed                  // the CPU failed
)

// record adds one operation's outcome to the stats.
func (q *DeviceAwareQuantizer) record(kind opKind, out opOutcome, start time.Time, err error) {
	d := time.Since(start)
	q.mu.Lock()
	defer q.mu.Unlock()
	s := &q.stats
	switch out {
	case fallback:
		s.Fallbacks++
		s.LastGPUError = err.Error()
	case cpuFailed:
		s.LastCPUError = err.Error()
	}
	s.TotalTime += d
	if kind == opQuantize {
		s.QuantizationTime += d
	} else {
		s.MatMulTime += d
	}
	if out != onGPU && out != onCPU {
		return
	}
	s.TotalOperations++
	if out == onGPU {
		s.GPUOperations++
	} else {
		s.CPUOperations++
	}
	if kind == opQuantize {
		s.QuantizationOperations++
	} else {
		s.MatMulOperations++
	}
}

// Stats returns the quantizer's totals, with the GPU's memory when its
// implementation reports it.
func (q *DeviceAwareQuantizer) Stats() DeviceStats {
	q.mu.Lock()
	s := q.stats
	q.mu.Unlock()
	s.DeviceType = "cpu"
	if q.gpu != nil {
		s.DeviceType = "cuda+cpu-fallback"
	}
	if s.TotalOperations > 0 {
		s.Efficiency = float64(s.GPUOperations) / float64(s.TotalOperations)
	}
	if m, ok := q.gpu.(MemoryReporter); ok {
		if free, total, err := m.MemInfo(); err == nil && total >= free {
			s.GPUMemoryUsed, s.GPUMemoryTotal = total-free, total
		}
	}
	return s
}

// ResetStats zeroes the totals (the reason the factory found no GPU stays
// in LastGPUError).
func (q *DeviceAwareQuantizer) ResetStats() {
	q.mu.Lock()
	q.stats = DeviceStats{Target: q.target, LastGPUError: q.noGPU}
	q.mu.Unlock()
}
