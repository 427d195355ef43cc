package cuda

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// ptxEntries lists the kernels (.entry) the embedded PTX defines.
func ptxEntries(t *testing.T) map[string]bool {
	t.Helper()
	if len(kernelsPTX) == 0 {
		t.Fatal("the embedded PTX is empty")
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`\.entry\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`).FindAllSubmatch(kernelsPTX, -1) {
		names[string(m[1])] = true
	}
	return names
}

func TestEmbeddedPTXDefinesEveryContractAndModelKernel(t *testing.T) {
	names := ptxEntries(t)
	want := append(append([]string(nil), ContractKernels...), extraKernels...)
	v := reflect.TypeOf(kernelSet{})
	for i := 0; i < v.NumField(); i++ {
		want = append(want, v.Field(i).Tag.Get("kernel"))
	}
	for _, k := range want {
		if !names[k] {
			t.Errorf("the embedded PTX has no kernel %q (run `make ptx`)", k)
		}
	}
}

func TestEmbeddedPTXWasCompiledFromKernelsCu(t *testing.T) {
	src, err := os.ReadFile("kernels.cu")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := os.ReadFile("ptx/kernels.cu.sha256")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(rec))
	sum := sha256.Sum256(src)
	if len(fields) != 2 || fields[1] != "kernels.cu" || fields[0] != hex.EncodeToString(sum[:]) {
		t.Fatalf("ptx/kernels.cu.sha256 is %q, kernels.cu hashes to %x: run `make ptx` after changing kernels.cu", rec, sum)
	}
	onDisk, err := os.ReadFile("ptx/bitnet.ptx")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, kernelsPTX) {
		t.Fatal("the embedded PTX differs from ptx/bitnet.ptx")
	}
}

// Float additions and multiplications must carry an explicit rounding
// mode: PTX add.f32/mul.f32 without one may be fused into an FMA by the
// JIT, which would change the exact kernels' results (nvcc -fmad=false
// writes .rn).
func TestEmbeddedPTXRoundsEveryFloatOperation(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s*(add|sub|mul)\.f(32|64)\s`)
	if loc := re.FindIndex(kernelsPTX); loc != nil {
		t.Fatalf("the PTX has an unrounded float operation %q (compile with -fmad=false)", kernelsPTX[loc[0]:loc[1]])
	}
	if !bytes.Contains(kernelsPTX, []byte("add.rn.f32")) {
		t.Fatal("the PTX has no add.rn.f32: not compiled from kernels.cu?")
	}
}
