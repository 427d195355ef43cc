package cuda

import (
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
)

// i2sCase is a ternary product with its expected result, computed here in
// exact integers and the three float32 operations of the contract.
type i2sCase struct {
	rows, cols, n int
	w             []byte // I2_S tensor with its tail
	q             []int8
	s             []float32
	x             []float32
	want          []float32
}

func newI2SCase(t *testing.T, seed int64, rows, cols, n int) i2sCase {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	codes := make([]int8, rows*cols)
	for i := range codes {
		codes[i] = int8(r.Intn(3) - 1)
	}
	scale := float32(0.37)
	c := i2sCase{rows: rows, cols: cols, n: n, w: make([]byte, rows*cols/4+quant.I2STail),
		q: make([]int8, n*cols), s: make([]float32, n), x: make([]float32, n*cols), want: make([]float32, n*rows)}
	if err := quant.PackI2S(codes, scale, c.w); err != nil {
		t.Fatal(err)
	}
	for i := range c.x {
		c.x[i] = float32(r.NormFloat64() * 3)
	}
	for tk := 0; tk < n; tk++ {
		c.s[tk], _ = quant.QuantizeActivations(c.x[tk*cols:(tk+1)*cols], c.q[tk*cols:(tk+1)*cols])
		for row := 0; row < rows; row++ {
			acc := int32(0)
			for j := 0; j < cols; j++ {
				acc += int32(codes[row*cols+j]) * int32(c.q[tk*cols+j])
			}
			c.want[tk*rows+row] = float32(acc) * (1 / c.s[tk]) * scale
		}
	}
	return c
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// fakeGPU is an I2SMatMuler for tests: it fails with err when set (after
// scribbling over out), else writes the expected result; it can report
// memory and be closed.
type fakeGPU struct {
	err    error
	want   []float32
	calls  int
	closed bool
}

func (g *fakeGPU) MatMulI2S(w []byte, rows, cols int, q []int8, s []float32, n int, out []float32) error {
	g.calls++
	if g.err != nil {
		for i := range out {
			out[i] = float32(math.NaN())
		}
		return g.err
	}
	copy(out, g.want)
	return nil
}

func (g *fakeGPU) MemInfo() (free, total uint64, err error) { return 30 << 30, 80 << 30, nil }

func (g *fakeGPU) Close() error {
	g.closed = true
	return nil
}

// fakeRowGPU also quantizes rows (failing with err when set).
type fakeRowGPU struct {
	fakeGPU
	qerr error
}

func (g *fakeRowGPU) QuantizeRows(x []float32, n, cols int, q []int8, s []float32) error {
	g.calls++
	return g.qerr
}

func newQuantizer(t *testing.T, gpu I2SMatMuler) *DeviceAwareQuantizer {
	t.Helper()
	q, err := NewDeviceAwareQuantizer(Target{Kind: TargetCUDA}, gpu, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func TestQuantizerFallsBackToTheCPUResultWhenTheGPUFails(t *testing.T) {
	tc := newI2SCase(t, 1, 37, 512, 3)
	gpu := &fakeGPU{err: errors.New("injected: CUDA_ERROR_LAUNCH_FAILED")}
	q := newQuantizer(t, gpu)
	if !q.IsGPUActive() || q.ActiveProvider() != "cuda" {
		t.Errorf("with a GPU: active %v, provider %q", q.IsGPUActive(), q.ActiveProvider())
	}
	out := make([]float32, tc.n*tc.rows)
	if err := q.MatMulI2S(tc.w, tc.rows, tc.cols, tc.q, tc.s, tc.n, out); err != nil {
		t.Fatal(err)
	}
	if gpu.calls != 1 {
		t.Errorf("GPU called %d times, want 1", gpu.calls)
	}
	if !sameBits(out, tc.want) {
		t.Errorf("fallback result differs from the exact CPU result")
	}
	st := q.Stats()
	if st.Fallbacks != 1 || st.CPUOperations != 1 || st.GPUOperations != 0 || st.MatMulOperations != 1 || st.TotalOperations != 1 {
		t.Errorf("stats after one fallback: %+v", st)
	}
	if st.Efficiency != 0 || st.IsGPUEffective() || !strings.Contains(st.LastGPUError, "LAUNCH_FAILED") {
		t.Errorf("efficiency %v, last GPU error %q", st.Efficiency, st.LastGPUError)
	}
	if st.DeviceType != "cuda+cpu-fallback" || st.GPUMemoryTotal != 80<<30 || st.GPUMemoryUsed != 50<<30 {
		t.Errorf("device type %q, memory %d / %d", st.DeviceType, st.GPUMemoryUsed, st.GPUMemoryTotal)
	}
	if !strings.Contains(st.Summary(), "fallbacks 1") {
		t.Errorf("summary %q", st.Summary())
	}
	q.ResetStats()
	if st := q.Stats(); st.TotalOperations != 0 || st.Fallbacks != 0 || st.LastGPUError != "" {
		t.Errorf("after ResetStats: %+v", st)
	}
}

func TestQuantizerUsesAWorkingGPUAndCountsIt(t *testing.T) {
	tc := newI2SCase(t, 2, 8, 256, 2)
	gpu := &fakeGPU{want: tc.want}
	q := newQuantizer(t, gpu)
	out := make([]float32, tc.n*tc.rows)
	for i := 0; i < 4; i++ {
		if err := q.MatMulI2S(tc.w, tc.rows, tc.cols, tc.q, tc.s, tc.n, out); err != nil {
			t.Fatal(err)
		}
	}
	st := q.Stats()
	if gpu.calls != 4 || st.GPUOperations != 4 || st.CPUOperations != 0 || st.Fallbacks != 0 || st.Efficiency != 1 || !st.IsGPUEffective() {
		t.Errorf("%d GPU calls, stats %+v", gpu.calls, st)
	}
	if st.AvgMatMulTime() < 0 || st.AvgQuantizationTime() != 0 {
		t.Errorf("average times %v, %v", st.AvgMatMulTime(), st.AvgQuantizationTime())
	}
}

func TestForceCPUFallbackBypassesTheGPU(t *testing.T) {
	tc := newI2SCase(t, 3, 16, 384, 1)
	gpu := &fakeGPU{err: errors.New("must not be called")}
	q := newQuantizer(t, gpu)
	q.ForceCPUFallback(true)
	if q.IsGPUActive() || q.ActiveProvider() != "cpu" {
		t.Error("forced to the CPU but the GPU is active")
	}
	out := make([]float32, tc.n*tc.rows)
	if err := q.MatMulI2S(tc.w, tc.rows, tc.cols, tc.q, tc.s, tc.n, out); err != nil {
		t.Fatal(err)
	}
	st := q.Stats()
	if gpu.calls != 0 || st.CPUOperations != 1 || st.Fallbacks != 0 || !sameBits(out, tc.want) {
		t.Errorf("%d GPU calls, stats %+v, result equal %v", gpu.calls, st, sameBits(out, tc.want))
	}
	q.ForceCPUFallback(false)
	if !q.IsGPUActive() {
		t.Error("not back on the GPU")
	}
}

func TestQuantizeRowsMatchesQuantizeActivationsWithFallback(t *testing.T) {
	tc := newI2SCase(t, 4, 4, 256, 3)
	gpu := &fakeRowGPU{qerr: errors.New("injected quantize failure")}
	q := newQuantizer(t, gpu)
	qo, s, err := q.Quantize(tc.x, tc.cols)
	if err != nil {
		t.Fatal(err)
	}
	if gpu.calls != 1 || !sameBits(s, tc.s) || string(int8Bytes(qo)) != string(int8Bytes(tc.q)) {
		t.Errorf("%d GPU calls; CPU quantization differs from quant.QuantizeActivations", gpu.calls)
	}
	st := q.Stats()
	if st.QuantizationOperations != 1 || st.Fallbacks != 1 || st.CPUOperations != 1 {
		t.Errorf("stats %+v", st)
	}
	if _, _, err := q.Quantize(tc.x[:5], tc.cols); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("ragged rows: %v", err)
	}
}

func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestMatMulI2SRejectsBadShapesBeforeComputing(t *testing.T) {
	tc := newI2SCase(t, 5, 4, 256, 1)
	gpu := &fakeGPU{want: tc.want}
	q := newQuantizer(t, gpu)
	out := make([]float32, tc.rows)
	cases := map[string]error{
		"short tensor":  q.MatMulI2S(tc.w[1:], tc.rows, tc.cols, tc.q, tc.s, 1, out),
		"cols not 128k": q.MatMulI2S(tc.w, tc.rows*2, tc.cols/2, tc.q, tc.s, 1, out),
		"short q":       q.MatMulI2S(tc.w, tc.rows, tc.cols, tc.q[:10], tc.s, 1, out),
		"short out":     q.MatMulI2S(tc.w, tc.rows, tc.cols, tc.q, tc.s, 1, out[:1]),
		"zero rows":     q.MatMulI2S(tc.w, 0, tc.cols, tc.q, tc.s, 1, out),
		"huge":          q.MatMulI2S(tc.w, math.MaxInt32, 1<<20, tc.q, tc.s, 1, out),
	}
	for name, err := range cases {
		if !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want errs.ErrInvalidArgument", name, err)
		}
	}
	if gpu.calls != 0 || q.Stats().TotalOperations != 0 {
		t.Errorf("bad calls reached the GPU (%d) or the stats", gpu.calls)
	}
}

func TestFactoryPicksTheGPUWhenItWorksElseTheCPUAndSaysWhy(t *testing.T) {
	q, err := DeviceAwareQuantizerFactory{Threads: 1}.AutoDetect()
	if err != nil {
		t.Fatal(err)
	}
	if q.IsGPUActive() || q.Stats().LastGPUError == "" || q.Stats().DeviceType != "cpu" {
		t.Errorf("no GPU implementation: active %v, stats %+v", q.IsGPUActive(), q.Stats())
	}
	q.Close()

	failing := DeviceAwareQuantizerFactory{Threads: 1, NewGPU: func(int) (I2SMatMuler, error) {
		return nil, errors.New("injected: no device 3")
	}}
	q, err = failing.New(Target{Kind: TargetCUDA, Index: 3})
	if err != nil {
		t.Fatal(err)
	}
	q.ResetStats()
	if q.IsGPUActive() || !strings.Contains(q.Stats().LastGPUError, "no device 3") {
		t.Errorf("failing GPU: active %v, last error %q", q.IsGPUActive(), q.Stats().LastGPUError)
	}
	q.Close()

	var asked []int
	gpu := &fakeGPU{}
	working := DeviceAwareQuantizerFactory{Threads: 1, NewGPU: func(i int) (I2SMatMuler, error) {
		asked = append(asked, i)
		return gpu, nil
	}}
	q, err = working.New(Target{Kind: TargetCUDA, Index: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !q.IsGPUActive() || q.Target() != (Target{Kind: TargetCUDA, Index: 1}) {
		t.Errorf("working GPU: active %v, target %v", q.IsGPUActive(), q.Target())
	}
	q.Close()
	if !gpu.closed {
		t.Error("Close did not close the GPU implementation the factory made")
	}
	if q, err = working.New(Target{Kind: TargetCPU}); err != nil || q.IsGPUActive() {
		t.Errorf("TargetCPU: %v, GPU active", err)
	} else {
		q.Close()
	}
	if len(asked) != 1 || asked[0] != 1 {
		t.Errorf("NewGPU asked for %v, want [1]", asked)
	}
	if _, err := working.New(Target{Kind: TargetCUDA, Index: -1}); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("negative index: %v", err)
	}
}
