package cuda

import _ "embed"

// kernelsPTX is kernels.cu compiled by `make ptx` (nvcc -ptx
// -arch=compute_80 -fmad=false -O3); the driver JIT-compiles it for the
// device when a Model is created. ptx/kernels.cu.sha256 records the
// SHA-256 of the kernels.cu it was compiled from (a test checks it).
//
//go:embed ptx/bitnet.ptx
var kernelsPTX []byte

// KernelsPTX returns the embedded PTX of the GPU kernels (a copy).
func KernelsPTX() []byte { return append([]byte(nil), kernelsPTX...) }

// ContractKernels are the kernels DESIGN.md's contract names; the embedded
// PTX defines each of them (and the fused and decode-step kernels of
// extraKernels).
var ContractKernels = []string{
	"embed_f32", "embed_f16", "rmsnorm", "quantize_rows", "tern_gemv", "tern_gemm",
	"rope", "kv_store", "attend", "glu", "add_inplace",
	"matmul_f16", "matmul_f32", "matmul_q8_0", "argmax",
}

// extraKernels are the kernels beyond the contract: fused forms used by
// the GPU model (rmsnorm_quant, tern_mv, tern_mm), the decode step's
// position-in-device-memory forms (rope_kv_step, attend_step, argmax_step)
// and the benchmark's bandwidth probes.
var extraKernels = []string{
	"rmsnorm_quant", "tern_mv", "tern_mm", "rope_kv_step", "attend_step", "argmax_step",
	"bandwidth_copy", "bandwidth_read",
}
