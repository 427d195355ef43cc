//go:build gpu

// GPU checks of the driver layer, run on a machine with a CUDA device:
//
//	go test -c -tags gpu -o cuda_gpu.test ./kernels/cuda   (on the build machine)
//	./cuda_gpu.test -test.run TestGPU -test.v               (on the GPU machine)
//
// or `go test -tags gpu ./kernels/cuda/ -run TestGPU -v` where Go and a GPU
// meet. TestGPUDriverLayer takes a few seconds.

package cuda_test

import (
	"errors"
	"math"
	"math/rand"
	"sync"
	"testing"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
)

// testPTX is this CUDA C compiled by nvcc 11.8 (nvcc -ptx -arch=compute_80
// -fmad=false -O3 t.cu -o t.ptx):
//
//	extern "C" __global__ void vadd(const float *a, const float *b, float *c, int n) {
//		int i = blockIdx.x * blockDim.x + threadIdx.x;
//		if (i < n) c[i] = a[i] + b[i];
//	}
//	extern "C" __global__ void axpb(const float *x, float *y, long long n, float a, unsigned int b) {
//		long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
//		if (i < n) y[i] = a * x[i] + (float)b;
//	}
//	extern "C" __global__ void iota_add(int *out, int n, int k) {
//		int i = blockIdx.x * blockDim.x + threadIdx.x;
//		if (i < n) out[i] += i + k;
//	}
const testPTX = `
.version 7.8
.target sm_80
.address_size 64

	// .globl	vadd

.visible .entry vadd(
	.param .u64 vadd_param_0,
	.param .u64 vadd_param_1,
	.param .u64 vadd_param_2,
	.param .u32 vadd_param_3
)
{
	.reg .pred 	%p<2>;
	.reg .f32 	%f<4>;
	.reg .b32 	%r<6>;
	.reg .b64 	%rd<11>;


	ld.param.u64 	%rd1, [vadd_param_0];
	ld.param.u64 	%rd2, [vadd_param_1];
	ld.param.u64 	%rd3, [vadd_param_2];
	ld.param.u32 	%r2, [vadd_param_3];
	mov.u32 	%r3, %ctaid.x;
	mov.u32 	%r4, %ntid.x;
	mov.u32 	%r5, %tid.x;
	mad.lo.s32 	%r1, %r3, %r4, %r5;
	setp.ge.s32 	%p1, %r1, %r2;
	@%p1 bra 	$L__BB0_2;

	cvta.to.global.u64 	%rd4, %rd1;
	mul.wide.s32 	%rd5, %r1, 4;
	add.s64 	%rd6, %rd4, %rd5;
	cvta.to.global.u64 	%rd7, %rd2;
	add.s64 	%rd8, %rd7, %rd5;
	ld.global.f32 	%f1, [%rd8];
	ld.global.f32 	%f2, [%rd6];
	add.rn.f32 	%f3, %f2, %f1;
	cvta.to.global.u64 	%rd9, %rd3;
	add.s64 	%rd10, %rd9, %rd5;
	st.global.f32 	[%rd10], %f3;

$L__BB0_2:
	ret;

}
	// .globl	axpb
.visible .entry axpb(
	.param .u64 axpb_param_0,
	.param .u64 axpb_param_1,
	.param .u64 axpb_param_2,
	.param .f32 axpb_param_3,
	.param .u32 axpb_param_4
)
{
	.reg .pred 	%p<2>;
	.reg .f32 	%f<6>;
	.reg .b32 	%r<5>;
	.reg .b64 	%rd<12>;


	ld.param.u64 	%rd2, [axpb_param_0];
	ld.param.u64 	%rd3, [axpb_param_1];
	ld.param.u64 	%rd4, [axpb_param_2];
	ld.param.f32 	%f1, [axpb_param_3];
	ld.param.u32 	%r1, [axpb_param_4];
	mov.u32 	%r2, %ctaid.x;
	mov.u32 	%r3, %ntid.x;
	mul.wide.u32 	%rd5, %r2, %r3;
	mov.u32 	%r4, %tid.x;
	cvt.u64.u32 	%rd6, %r4;
	add.s64 	%rd1, %rd5, %rd6;
	setp.ge.s64 	%p1, %rd1, %rd4;
	@%p1 bra 	$L__BB1_2;

	cvta.to.global.u64 	%rd7, %rd2;
	shl.b64 	%rd8, %rd1, 2;
	add.s64 	%rd9, %rd7, %rd8;
	ld.global.f32 	%f2, [%rd9];
	mul.rn.f32 	%f3, %f2, %f1;
	cvt.rn.f32.u32 	%f4, %r1;
	add.rn.f32 	%f5, %f3, %f4;
	cvta.to.global.u64 	%rd10, %rd3;
	add.s64 	%rd11, %rd10, %rd8;
	st.global.f32 	[%rd11], %f5;

$L__BB1_2:
	ret;

}
	// .globl	iota_add
.visible .entry iota_add(
	.param .u64 iota_add_param_0,
	.param .u32 iota_add_param_1,
	.param .u32 iota_add_param_2
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<10>;
	.reg .b64 	%rd<5>;


	ld.param.u64 	%rd1, [iota_add_param_0];
	ld.param.u32 	%r3, [iota_add_param_1];
	ld.param.u32 	%r2, [iota_add_param_2];
	mov.u32 	%r4, %ctaid.x;
	mov.u32 	%r5, %ntid.x;
	mov.u32 	%r6, %tid.x;
	mad.lo.s32 	%r1, %r4, %r5, %r6;
	setp.ge.s32 	%p1, %r1, %r3;
	@%p1 bra 	$L__BB2_2;

	cvta.to.global.u64 	%rd2, %rd1;
	mul.wide.s32 	%rd3, %r1, 4;
	add.s64 	%rd4, %rd2, %rd3;
	ld.global.u32 	%r7, [%rd4];
	add.s32 	%r8, %r1, %r2;
	add.s32 	%r9, %r8, %r7;
	st.global.u32 	[%rd4], %r9;

$L__BB2_2:
	ret;

}

`

// gpuKernels are the test module's kernels.
type gpuKernels struct {
	mod                 *cuda.Module
	vadd, axpb, iotaAdd *cuda.Function
}

func loadTestKernels(t *testing.T, ctx *cuda.Context) gpuKernels {
	t.Helper()
	mod, err := ctx.LoadModule([]byte(testPTX))
	if err != nil {
		t.Fatalf("LoadModule: %v", err)
	}
	k := gpuKernels{mod: mod}
	for name, dst := range map[string]**cuda.Function{"vadd": &k.vadd, "axpb": &k.axpb, "iota_add": &k.iotaAdd} {
		if *dst, err = mod.Function(name); err != nil {
			t.Fatalf("Function(%s): %v", name, err)
		}
	}
	return k
}

func randFloats(seed int64, n int) []float32 {
	r := rand.New(rand.NewSource(seed))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// mismatches counts the elements whose bits differ.
func mismatches(got, want []float32) int {
	bad := 0
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			bad++
		}
	}
	return bad
}

func allocF32(t *testing.T, ctx *cuda.Context, n int, init []float32) cuda.Buffer {
	t.Helper()
	b, err := ctx.AllocFloat32(n, init)
	if err != nil {
		t.Fatalf("AllocFloat32(%d): %v", n, err)
	}
	t.Cleanup(func() { _ = ctx.Free(b) })
	return b
}

func TestGPUDriverLayer(t *testing.T) {
	ctx, err := cuda.NewContext(0)
	if err != nil {
		t.Fatalf("NewContext(0): %v", err)
	}
	defer func() {
		if err := ctx.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	info := ctx.Info()
	t.Logf("device 0: %+v", info)
	kern := loadTestKernels(t, ctx)

	t.Run("DeviceInfo", func(t *testing.T) { gpuDeviceInfo(t, info) })
	t.Run("MemoryRoundTrip", func(t *testing.T) { gpuMemoryRoundTrip(t, ctx) })
	t.Run("Memset", func(t *testing.T) { gpuMemset(t, ctx) })
	t.Run("LaunchEveryArgumentType", func(t *testing.T) { gpuLaunch(t, ctx, kern) })
	t.Run("StreamEventsAsyncCopies", func(t *testing.T) { gpuStreamEvents(t, ctx, kern) })
	t.Run("GraphCaptureReplay", func(t *testing.T) { gpuGraph(t, ctx, kern) })
	t.Run("ErrorPathsReturnErrors", func(t *testing.T) { gpuErrors(t, ctx, kern) })
	t.Run("ManyGoroutinesAndNestedDo", func(t *testing.T) { gpuConcurrent(t, ctx, kern) })
	t.Run("SecondContextSharesThePrimaryContext", func(t *testing.T) { gpuSecondContext(t, ctx, kern) })
	t.Run("CudaKernel", func(t *testing.T) { gpuCudaKernel(t) })
}

func gpuDeviceInfo(t *testing.T, info cuda.DeviceInfo) {
	n, err := cuda.DeviceCount()
	if err != nil || n < 1 {
		t.Fatalf("DeviceCount = %d, %v", n, err)
	}
	v, err := cuda.DriverVersion()
	if err != nil || v < cuda.MinDriverVersion || info.DriverVersion != v {
		t.Errorf("DriverVersion = %d, %v (info says %d)", v, err, info.DriverVersion)
	}
	devs, err := cuda.Devices()
	if err != nil || len(devs) != n || devs[0].Name != info.Name {
		t.Errorf("Devices() = %+v, %v", devs, err)
	}
	if info.Name == "" || info.Multiprocessors <= 0 || info.ComputeCapability() < 80 || info.WarpSize != 32 ||
		info.MaxThreadsPerBlock < 256 || info.MaxSharedPerBlock < 48<<10 || info.TotalMemory < 1<<30 ||
		info.FreeMemory == 0 || info.FreeMemory > info.TotalMemory {
		t.Errorf("implausible device info %+v", info)
	}
	if _, err := cuda.Query(n); !errors.Is(err, cuda.ErrNoDevice) {
		t.Errorf("Query(%d): %v, want ErrNoDevice", n, err)
	}
	if _, err := cuda.NewContext(n); !errors.Is(err, cuda.ErrNoDevice) {
		t.Errorf("NewContext(%d): %v, want ErrNoDevice", n, err)
	}
	edevs := engine.Devices()
	if len(edevs) != 1+n || edevs[1].Kind != "cuda" || edevs[1].Name != info.Name || !edevs[1].Available ||
		edevs[1].ComputeMajor != info.ComputeMajor || edevs[1].TotalMemory != info.TotalMemory {
		t.Errorf("engine.Devices() = %+v", edevs)
	}
	q, err := engine.QueryDevice(engine.Device{Kind: engine.DeviceCUDA, Index: 0})
	if err != nil || q.Name != info.Name || q.FreeMemory == 0 || !q.SupportsBF16 || !q.SupportsInt8 {
		t.Errorf("engine.QueryDevice(cuda:0) = %+v, %v", q, err)
	}
	if got := cuda.AvailableTargets(); len(got) != 1+n {
		t.Errorf("AvailableTargets() = %v", got)
	}
}

func gpuMemoryRoundTrip(t *testing.T, ctx *cuda.Context) {
	const n = 1<<20 + 3
	before := ctx.Counters()
	x := randFloats(1, n)
	b := allocF32(t, ctx, n, x)
	got := make([]float32, n)
	if err := ctx.DownloadFloat32(got, b); err != nil {
		t.Fatal(err)
	}
	if bad := mismatches(got, x); bad != 0 {
		t.Fatalf("round trip: %d of %d elements differ", bad, n)
	}
	part, err := b.Slice(4*100, 4*10)
	if err != nil {
		t.Fatal(err)
	}
	ten := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if err := ctx.UploadFloat32(part, ten); err != nil {
		t.Fatal(err)
	}
	if err := ctx.DownloadFloat32(got, b); err != nil {
		t.Fatal(err)
	}
	copy(x[100:], ten)
	if bad := mismatches(got, x); bad != 0 {
		t.Errorf("upload at an offset: %d elements differ", bad)
	}
	ib, err := ctx.Alloc(4 * 1000)
	if err != nil {
		t.Fatal(err)
	}
	ints := make([]int32, 1000)
	for i := range ints {
		ints[i] = int32(i*7919) - 1<<20
	}
	back := make([]int32, 1000)
	if err := ctx.UploadInt32(ib, ints); err != nil {
		t.Fatal(err)
	}
	if err := ctx.DownloadInt32(back, ib); err != nil {
		t.Fatal(err)
	}
	for i := range ints {
		if back[i] != ints[i] {
			t.Fatalf("int32 round trip: element %d is %d, want %d", i, back[i], ints[i])
		}
	}
	after := ctx.Counters()
	if after.BytesToDevice-before.BytesToDevice != 4*n+40+4000 || after.BytesToHost-before.BytesToHost != 2*4*n+4000 ||
		after.Allocated-before.Allocated != 4*n+4000 || after.PeakAllocated < after.Allocated {
		t.Errorf("counters before %+v after %+v", before, after)
	}
	if err := ctx.Free(ib); err != nil {
		t.Fatal(err)
	}
	if got := ctx.Counters().Allocated; got != after.Allocated-4000 {
		t.Errorf("Allocated after Free = %d, want %d", got, after.Allocated-4000)
	}
	free, total, err := ctx.MemInfo()
	if err != nil || free == 0 || free >= total {
		t.Errorf("MemInfo = %d, %d, %v", free, total, err)
	}
}

func gpuMemset(t *testing.T, ctx *cuda.Context) {
	b, err := ctx.Alloc(4099)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Free(b)
	got := make([]byte, 4099)
	for _, v := range []byte{0xab, 0} {
		if err := ctx.Memset(b, v); err != nil {
			t.Fatal(err)
		}
		if err := ctx.DownloadBytes(got, b); err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			if g != v {
				t.Fatalf("after Memset(%#x): byte %d is %#x", v, i, g)
			}
		}
	}
}

func gpuLaunch(t *testing.T, ctx *cuda.Context, k gpuKernels) {
	const n = 1<<20 + 3
	info := ctx.Info()
	s, err := ctx.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if mt, err := k.vadd.MaxThreadsPerBlock(); err != nil || mt < 256 {
		t.Errorf("vadd MaxThreadsPerBlock = %d, %v", mt, err)
	}
	a, b := randFloats(2, n), randFloats(3, n)
	da, db, dc := allocF32(t, ctx, n, a), allocF32(t, ctx, n, b), allocF32(t, ctx, n, nil)
	before := ctx.Counters().KernelLaunches
	grid, block := info.LaunchConfig(n)
	if err := s.Launch(k.vadd, grid, block, 0, da, db, dc.Ptr, int32(n)); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(k.axpb, grid, block, 0, da, db, int64(n), float32(1.5), uint32(3)); err != nil {
		t.Fatal(err)
	}
	di, err := ctx.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Free(di)
	if err := ctx.Memset(di, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(k.iotaAdd, grid, block, 0, di, int32(n), int32(-5)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := ctx.Counters().KernelLaunches - before; got != 3 {
		t.Errorf("KernelLaunches grew by %d, want 3", got)
	}
	got := make([]float32, n)
	want := make([]float32, n)
	if err := ctx.DownloadFloat32(got, dc); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = a[i] + b[i]
	}
	if bad := mismatches(got, want); bad != 0 {
		t.Errorf("vadd: %d of %d elements differ", bad, n)
	}
	if err := ctx.DownloadFloat32(got, db); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = float32(1.5*a[i]) + 3
	}
	if bad := mismatches(got, want); bad != 0 {
		t.Errorf("axpb (int64, float32, uint32 arguments): %d of %d elements differ", bad, n)
	}
	ints := make([]int32, n)
	if err := ctx.DownloadInt32(ints, di); err != nil {
		t.Fatal(err)
	}
	for i, v := range ints {
		if v != int32(i-5) {
			t.Fatalf("iota_add: element %d is %d, want %d", i, v, i-5)
		}
	}
}

func gpuStreamEvents(t *testing.T, ctx *cuda.Context, k gpuKernels) {
	const n = 1 << 22
	s, err := ctx.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e1, err := ctx.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer e1.Close()
	e2, err := ctx.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	a, b := randFloats(4, n), randFloats(5, n)
	da, db, dc, dd := allocF32(t, ctx, n, nil), allocF32(t, ctx, n, b), allocF32(t, ctx, n, nil), allocF32(t, ctx, n, nil)
	if err := s.UploadFloat32Async(da, a); err != nil {
		t.Fatal(err)
	}
	grid, block := ctx.Info().LaunchConfig(n)
	if err := e1.Record(s); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := s.Launch(k.vadd, grid, block, 0, da, db, dc, int32(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e2.Record(s); err != nil {
		t.Fatal(err)
	}
	if err := e2.Sync(); err != nil {
		t.Fatal(err)
	}
	ms, err := cuda.ElapsedMS(e1, e2)
	if err != nil || !(ms > 0 && ms < 10000) {
		t.Errorf("ElapsedMS = %v, %v", ms, err)
	}
	t.Logf("20 vadd launches of %d floats: %.3f ms (%.0f GB/s)", n, ms, 20*12*float64(n)/(float64(ms)*1e6))
	if err := s.CopyAsync(dd, 0, dc, 0, 4*n); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, n)
	if err := s.DownloadFloat32Async(got, dd); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, n)
	for i := range want {
		want[i] = a[i] + b[i]
	}
	if bad := mismatches(got, want); bad != 0 {
		t.Errorf("async upload, launches, device copy, async download: %d of %d differ", bad, n)
	}
	if err := s.MemsetAsync(dd, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DownloadFloat32Async(got, dd); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("MemsetAsync: element %d is %v", i, v)
		}
	}
}

func gpuGraph(t *testing.T, ctx *cuda.Context, k gpuKernels) {
	const n = 100003
	s, err := ctx.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acc, err := ctx.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Free(acc)
	acc2, err := ctx.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Free(acc2)
	if err := ctx.Memset(acc, 0); err != nil {
		t.Fatal(err)
	}
	grid, block := ctx.Info().LaunchConfig(n)
	before := ctx.Counters()

	if err := s.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(k.iotaAdd, grid, block, 0, acc, int32(n), int32(1)); err != nil {
		t.Fatal(err)
	}
	g, err := s.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := g.Launch(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]int32, n)
	if err := ctx.DownloadInt32(got, acc); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != int32(5*(i+1)) {
			t.Fatalf("5 replays: element %d is %d, want %d", i, v, 5*(i+1))
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Launch(s); !errors.Is(err, errs.ErrClosed) {
		t.Errorf("Launch of a closed graph: %v, want errs.ErrClosed", err)
	}

	// Memset, kernel and device copy captured together.
	if err := s.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	if err := s.MemsetAsync(acc, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(k.iotaAdd, grid, block, 0, acc, int32(n), int32(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.CopyAsync(acc2, 0, acc, 0, 4*n); err != nil {
		t.Fatal(err)
	}
	g2, err := s.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	for i := 0; i < 3; i++ {
		if err := g2.Launch(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := ctx.DownloadInt32(got, acc2); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != int32(i+2) {
			t.Fatalf("memset+kernel+copy graph: element %d is %d, want %d", i, v, i+2)
		}
	}
	after := ctx.Counters()
	if after.GraphLaunches-before.GraphLaunches != 8 || after.KernelLaunches-before.KernelLaunches != 2 {
		t.Errorf("counters before %+v after %+v: want 8 graph launches and 2 captured launches", before, after)
	}

	// Ending a capture that never began fails; the stream still works.
	if g3, err := s.EndCapture(); err == nil || g3 != nil {
		t.Errorf("EndCapture without BeginCapture = %v, %v", g3, err)
	} else {
		t.Logf("EndCapture without BeginCapture: %v", err)
	}
	if err := s.Launch(k.iotaAdd, grid, block, 0, acc, int32(n), int32(0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Errorf("stream after a failed EndCapture: %v", err)
	}
}

func gpuErrors(t *testing.T, ctx *cuda.Context, k gpuKernels) {
	const n = 4096
	info := ctx.Info()
	s, err := ctx.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	da, db, dc := allocF32(t, ctx, n, nil), allocF32(t, ctx, n, nil), allocF32(t, ctx, n, nil)
	grid, block := info.LaunchConfig(n)
	driverErr := func(what string, err error) {
		t.Helper()
		var e *cuda.Error
		if !errors.As(err, &e) || !errors.Is(err, errs.ErrDevice) || e.Name == "" || e.Code == 0 {
			t.Errorf("%s: %v, want a *cuda.Error", what, err)
			return
		}
		t.Logf("%s: %v", what, err)
	}
	big := [3]uint32{uint32(2 * info.MaxThreadsPerBlock), 1, 1}
	driverErr("block over the limit", s.Launch(k.vadd, grid, big, 0, da, db, dc, int32(n)))
	driverErr("empty grid", s.Launch(k.vadd, [3]uint32{0, 1, 1}, block, 0, da, db, dc, int32(n)))
	driverErr("too much shared memory", s.Launch(k.vadd, grid, block, 1<<24, da, db, dc, int32(n)))
	if err := s.Launch(k.vadd, grid, block, 0, da, db, dc, n); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("Go int argument: %v, want errs.ErrInvalidArgument", err)
	}
	_, err = ctx.Alloc(1 << 50)
	driverErr("allocate 1 PiB", err)
	var e *cuda.Error
	if errors.As(err, &e) && e.Code == 2 && !errors.Is(err, errs.ErrMemory) {
		t.Errorf("out of memory is not errs.ErrMemory: %v", err)
	}
	_, err = k.mod.Function("no_such_kernel")
	driverErr("missing kernel", err)
	_, err = ctx.LoadModule([]byte("this is not PTX"))
	driverErr("bad PTX", err)
	if err := ctx.UploadFloat32(da, make([]float32, n+1)); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("upload past the end: %v, want errs.ErrInvalidArgument", err)
	}
	// The context is still healthy.
	if err := s.Launch(k.vadd, grid, block, 0, da, db, dc, int32(n)); err != nil {
		t.Errorf("launch after the errors: %v", err)
	}
	if err := s.Sync(); err != nil {
		t.Errorf("sync after the errors: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(k.vadd, grid, block, 0, da, db, dc, int32(n)); !errors.Is(err, errs.ErrClosed) {
		t.Errorf("launch on a closed stream: %v, want errs.ErrClosed", err)
	}
}

func gpuConcurrent(t *testing.T, ctx *cuda.Context, k gpuKernels) {
	var wg sync.WaitGroup
	fails := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			fails <- func() error {
				s, err := ctx.NewStream()
				if err != nil {
					return err
				}
				defer s.Close()
				for it := 0; it < 20; it++ {
					m := 1000 + 37*g + it
					b, err := ctx.Alloc(int64(4 * m))
					if err != nil {
						return err
					}
					err = ctx.Memset(b, 0)
					grid, block := ctx.Info().LaunchConfig(m)
					if err == nil {
						err = s.Launch(k.iotaAdd, grid, block, 0, b, int32(m), int32(g))
					}
					if err == nil {
						err = s.Sync()
					}
					got := make([]int32, m)
					if err == nil {
						err = ctx.DownloadInt32(got, b)
					}
					if e := ctx.Free(b); err == nil {
						err = e
					}
					if err != nil {
						return err
					}
					for i, v := range got {
						if v != int32(i+g) {
							return errors.New("goroutine result differs")
						}
					}
				}
				return nil
			}()
		}(g)
	}
	wg.Wait()
	close(fails)
	for err := range fails {
		if err != nil {
			t.Error(err)
		}
	}

	// Methods called inside Do run directly on the context's thread.
	err := ctx.Do(func() error {
		b, err := ctx.Alloc(4096)
		if err != nil {
			return err
		}
		defer ctx.Free(b)
		if err := ctx.Memset(b, 7); err != nil {
			return err
		}
		got := make([]byte, 4096)
		if err := ctx.DownloadBytes(got, b); err != nil {
			return err
		}
		for _, v := range got {
			if v != 7 {
				return errors.New("memset inside Do did not take")
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("nested calls inside Do: %v", err)
	}
}

func gpuSecondContext(t *testing.T, ctx *cuda.Context, k gpuKernels) {
	const n = 1000
	c2, err := cuda.NewContext(0)
	if err != nil {
		t.Fatal(err)
	}
	x := randFloats(6, n)
	b2, err := c2.AllocFloat32(n, x)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Free(b2); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Alloc(4); !errors.Is(err, errs.ErrClosed) {
		t.Errorf("Alloc on a closed context: %v, want errs.ErrClosed", err)
	}
	// The first context still works after the second released its hold.
	b := allocF32(t, ctx, n, x)
	s, err := ctx.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	grid, block := ctx.Info().LaunchConfig(n)
	if err := s.Launch(k.vadd, grid, block, 0, b, b, b, int32(n)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, n)
	if err := ctx.DownloadFloat32(got, b); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		x[i] += x[i]
	}
	if bad := mismatches(got, x); bad != 0 {
		t.Errorf("after closing the second context: %d of %d differ", bad, n)
	}
}

func gpuCudaKernel(t *testing.T) {
	k, err := cuda.NewCudaKernel(0)
	if err != nil {
		t.Fatal(err)
	}
	info := k.DeviceInfo()
	if info.Name == "" || info.Multiprocessors <= 0 {
		t.Errorf("DeviceInfo = %+v", info)
	}
	used, total, err := k.MemoryStats()
	if err != nil || total == 0 || used == 0 || used > total {
		t.Errorf("MemoryStats = %d, %d, %v", used, total, err)
	}
	mod, err := k.LoadModule([]byte(testPTX))
	if err != nil {
		t.Fatal(err)
	}
	f, err := mod.Function("iota_add")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	b, err := k.Context().Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	k.ResetPerformanceStats()
	grid, block := k.LaunchConfig(n)
	for i := 0; i < 3; i++ {
		if err := k.Stream().Launch(f, grid, block, 0, b, int32(n), int32(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.SynchronizeAll(); err != nil {
		t.Fatal(err)
	}
	if ps := k.PerformanceStats(); ps.KernelLaunches != 3 || ps.BatchOperations != 0 {
		t.Errorf("PerformanceStats = %+v, want 3 launches", ps)
	}
	k.ResetPerformanceStats()
	if ps := k.PerformanceStats(); ps != (cuda.PerformanceStats{}) {
		t.Errorf("after reset: %+v", ps)
	}
	if err := k.BatchMatMulI2S(nil); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("BatchMatMulI2S without a matmuler: %v, want errs.ErrUnsupported", err)
	}
	if err := k.Context().Free(b); err != nil {
		t.Error(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
