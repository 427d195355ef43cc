package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// declaration is one function prototype, normalized: no parameter names, no
// const, no spaces.
type declaration struct {
	name, signature string
}

var (
	protoRE   = regexp.MustCompile(`(?s)([A-Za-z_][A-Za-z0-9_ \*]*?)\b(bitnet_[a-z0-9_]+)\s*\(([^;{]*?)\)\s*;`)
	commentRE = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	nameRE    = regexp.MustCompile(`\b[A-Za-z_][A-Za-z0-9_]*\s*$`)
	knownType = map[string]bool{"int32_t": true, "size_t": true, "float": true, "double": true, "char": true, "void": true,
		"uint64_t": true, "bitnet_piece_callback": true}
)

// normalizeType drops const, spaces and a trailing parameter name.
func normalizeType(t string) string {
	t = strings.ReplaceAll(t, "const", " ")
	t = strings.TrimSpace(t)
	if m := nameRE.FindString(t); m != "" {
		name := strings.TrimSpace(m)
		base := strings.TrimSpace(strings.TrimSuffix(t, m))
		// A trailing identifier is a parameter name unless it is the
		// whole type.
		if base != "" && !knownType[name] && !strings.HasPrefix(name, "bitnet_") {
			t = base
		} else if base != "" && strings.HasPrefix(name, "bitnet_") && strings.HasSuffix(base, "*") {
			t = base
		}
	}
	return strings.Join(strings.Fields(t), "")
}

// prototypes extracts the bitnet_* prototypes of a C header text.
func prototypes(text string) map[string]string {
	text = commentRE.ReplaceAllString(text, " ")
	out := map[string]string{}
	for _, m := range protoRE.FindAllStringSubmatch(text, -1) {
		ret := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m[1]), "extern"))
		if strings.HasPrefix(ret, "typedef") {
			continue
		}
		var params []string
		for _, p := range strings.Split(m[3], ",") {
			if p = normalizeType(p); p != "" && p != "void" {
				params = append(params, p)
			}
		}
		out[m[2]] = normalizeType(ret) + "(" + strings.Join(params, ",") + ")"
	}
	return out
}

// TestHeaderMatchesExports builds the shared library and checks that the
// hand-written header and the library agree: every declared function is
// exported, nothing else named bitnet_* is, and the functions written in Go
// have the prototypes that cgo generated for them.
func TestHeaderMatchesExports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shared library")
	}
	if _, err := exec.LookPath("nm"); err != nil {
		t.Skip("nm not installed")
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "libbitnet.so")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", lib, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ours, err := os.ReadFile("bitnet.h")
	if err != nil {
		t.Fatal(err)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "libbitnet.h"))
	if err != nil {
		t.Fatal(err)
	}
	declared := prototypes(string(ours))
	if len(declared) < 30 {
		t.Fatalf("found only %d prototypes in bitnet.h: the parser is broken", len(declared))
	}
	// Only cgo's own export section: after the preamble it copies.
	genText := string(generated)
	if i := strings.Index(genText, "Start of boilerplate cgo prologue"); i >= 0 {
		genText = genText[i:]
	}
	exportedGo := prototypes(genText)
	if len(exportedGo) < 25 {
		t.Fatalf("found only %d Go exports in the generated header: the parser is broken", len(exportedGo))
	}

	out, err := exec.Command("nm", "-D", "--defined-only", lib).Output()
	if err != nil {
		t.Fatal(err)
	}
	symbols := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == "T" && strings.HasPrefix(f[2], "bitnet_") {
			symbols[f[2]] = true
		}
	}
	var names []string
	for n := range declared {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !symbols[n] {
			t.Errorf("%s is declared in bitnet.h but not exported by the library", n)
		}
		if g, ok := exportedGo[n]; ok && g != declared[n] {
			t.Errorf("%s: bitnet.h declares %s, the Go export is %s", n, declared[n], g)
		}
	}
	for s := range symbols {
		if _, ok := declared[s]; !ok {
			t.Errorf("the library exports %s, which bitnet.h does not declare", s)
		}
	}
}

func TestPrototypeNormalization(t *testing.T) {
	got := prototypes(`int32_t bitnet_a(const char *path, const bitnet_model_config *cfg, bitnet_model **out);
extern int32_t bitnet_a2(char* path, bitnet_model_config* cfg, bitnet_model** out);
void bitnet_b(void);
const char *bitnet_c(void);
int32_t bitnet_d(const char *const *list, size_t n, bitnet_piece_callback cb, void *user);`)
	want := map[string]string{
		"bitnet_a":  "int32_t(char*,bitnet_model_config*,bitnet_model**)",
		"bitnet_a2": "int32_t(char*,bitnet_model_config*,bitnet_model**)",
		"bitnet_b":  "void()",
		"bitnet_c":  "char*()",
		"bitnet_d":  "int32_t(char**,size_t,bitnet_piece_callback,void*)",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}
