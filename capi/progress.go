package main

/*
#include "shim.h"

// Calls a progress callback (Go cannot call C function pointers).
static int32_t bitnet_progress_call(bitnet_progress_callback cb, void *user, const char *file, int64_t done,
                                    int64_t total) {
    return cb(user, file, done, total);
}
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"
)

// progressInterval is the least time between two reports of one file.
const progressInterval = 100 * time.Millisecond

// progressHook turns a C progress callback into a hub progress function,
// rate-limited per file (the first and the final report of a file always
// go through). cancel is called when the callback returns nonzero.
func progressHook(cb C.bitnet_progress_callback, user unsafe.Pointer, cancel func()) func(done, total int64, file string) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	stopped := false
	return func(done, total int64, file string) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		now := time.Now()
		final := total >= 0 && done >= total
		if t, seen := last[file]; seen && !final && now.Sub(t) < progressInterval {
			return
		}
		last[file] = now
		cs := C.CString(file)
		defer C.free(unsafe.Pointer(cs))
		if C.bitnet_progress_call(cb, user, cs, C.int64_t(done), C.int64_t(total)) != 0 {
			stopped = true
			cancel()
		}
	}
}
