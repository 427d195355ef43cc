// Package testutil holds assertions shared by the tests of several
// packages.
package testutil

import (
	"errors"
	"strings"
	"testing"
)

// WantErr checks that err wraps kind and that its message mentions each of
// words; what names the case in failure messages.
func WantErr(t testing.TB, what string, err, kind error, words ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %v", what, kind)
		return
	}
	if !errors.Is(err, kind) {
		t.Errorf("%s: error %q does not wrap %v", what, err, kind)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", what, err, w)
		}
	}
}
