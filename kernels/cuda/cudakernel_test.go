package cuda

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// countingMatMuler counts calls and fails on call failAt (0: never).
type countingMatMuler struct {
	calls  int
	failAt int
}

func (m *countingMatMuler) MatMulI2S(w []byte, rows, cols int, q []int8, s []float32, n int, out []float32) error {
	m.calls++
	if m.calls == m.failAt {
		return errors.New("injected GPU failure")
	}
	return nil
}

func TestBatchMatMulI2SRunsEachRequestAndNamesAFailure(t *testing.T) {
	var shut atomic.Int32
	k := &CudaKernel{ctx: fakeContext(t, &shut)}
	defer k.ctx.Close()
	tc := newI2SCase(t, 1, 4, 256, 2)
	op := BatchOperation{W: tc.w, Rows: tc.rows, Cols: tc.cols, Q: tc.q, S: tc.s, N: tc.n, Out: make([]float32, tc.n*tc.rows)}
	if err := k.BatchMatMulI2S([]BatchOperation{op}); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("without a matmuler: %v, want errs.ErrUnsupported", err)
	}
	mm := &countingMatMuler{}
	k.SetMatMuler(mm)
	if err := k.BatchMatMulI2S([]BatchOperation{op, op, op}); err != nil || mm.calls != 3 {
		t.Fatalf("3 requests: %v, %d calls", err, mm.calls)
	}
	if got := k.PerformanceStats().BatchOperations; got != 3 {
		t.Errorf("BatchOperations = %d, want 3", got)
	}
	bad := op
	bad.W = bad.W[1:]
	mm.calls = 0
	if err := k.BatchMatMulI2S([]BatchOperation{op, bad}); !errors.Is(err, errs.ErrInvalidArgument) || mm.calls != 0 {
		t.Errorf("a bad request: %v after %d calls; want errs.ErrInvalidArgument before any", err, mm.calls)
	}
	mm.failAt = 2
	if err := k.BatchMatMulI2S([]BatchOperation{op, op, op}); err == nil || !strings.Contains(err.Error(), "request 1") || mm.calls != 2 {
		t.Errorf("failure in request 1: %v after %d calls", err, mm.calls)
	}
	if got := k.PerformanceStats().BatchOperations; got != 4 {
		t.Errorf("BatchOperations = %d, want 4", got)
	}
	k.ResetPerformanceStats()
	if got := k.PerformanceStats(); got != (PerformanceStats{}) {
		t.Errorf("after reset: %+v", got)
	}
}
