package main

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
)

// session is the object behind a bitnet_session handle. One caller at a
// time: a second thread, or a call while a stream holds the session, gets
// an error instead of a data race.
type session struct {
	mo   *model
	s    *engine.Session
	mu   sync.Mutex
	busy bool
}

var errSessionBusy = fmt.Errorf("the session is in use by another thread or an open stream (one caller at a time; use a session per thread): %w", errs.ErrInvalidArgument)

// acquire marks the session busy, or fails if it already is.
func (s *session) acquire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy {
		return errSessionBusy
	}
	s.busy = true
	return nil
}

func (s *session) release() {
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
}

// useSession looks up a session handle and acquires it.
func useSession(p *C.bitnet_session) (*session, error) {
	s, err := lookup[*session](unsafe.Pointer(p), "session")
	if err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	return s, nil
}

//export bitnet_session_new
func bitnet_session_new(p *C.bitnet_model, out **C.bitnet_session) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	mo, err := lookup[*model](unsafe.Pointer(p), "model")
	if err != nil {
		return fail(err)
	}
	es, err := mo.m.NewSession()
	if err != nil {
		return fail(err)
	}
	h := newHandle(&session{mo: mo, s: es}, C.sizeof_struct_bitnet_session)
	if h == nil {
		return fail(errNoMemory)
	}
	*out = (*C.bitnet_session)(h)
	return C.BITNET_OK
}

//export bitnet_session_free
func bitnet_session_free(p *C.bitnet_session) {
	defer guardVoid()
	freeHandle(unsafe.Pointer(p))
}

//export bitnet_session_eval
func bitnet_session_eval(p *C.bitnet_session, ids *C.int32_t, n C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	defer s.release()
	in, err := int32s(ids, n)
	if err != nil {
		return fail(err)
	}
	return result(offThread(func() error {
		_, err := s.s.Forward(in, false)
		return err
	}))
}

// lastLogits holds a copy of the logits after the last evaluated token.
func putFloats(vals []float32, buf *C.float, capacity C.size_t, n *C.size_t) error {
	if n == nil {
		return invalid("n_out is NULL")
	}
	*n = C.size_t(len(vals))
	if len(vals) > int(capacity) {
		return fmt.Errorf("%d values do not fit in a buffer of %d: %w", len(vals), capacity, errBufferTooSmall)
	}
	if buf == nil {
		return invalid("buffer is NULL")
	}
	copy(unsafe.Slice((*float32)(unsafe.Pointer(buf)), len(vals)), vals)
	return nil
}

//export bitnet_session_logits
func bitnet_session_logits(p *C.bitnet_session, buf *C.float, capacity C.size_t, n *C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	defer s.release()
	var logits []float32
	if err := offThread(func() (err error) { logits, err = s.s.LastLogits(); return err }); err != nil {
		return fail(err)
	}
	return result(putFloats(logits, buf, capacity, n))
}

//export bitnet_session_eval_all
func bitnet_session_eval_all(p *C.bitnet_session, ids *C.int32_t, n C.size_t, buf *C.float, capacity C.size_t, nOut *C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	defer s.release()
	in, err := int32s(ids, n)
	if err != nil {
		return fail(err)
	}
	need := uint64(len(in)) * uint64(s.mo.m.Hyper.Vocab)
	if nOut == nil {
		return fail(invalid("n_out is NULL"))
	}
	if need > uint64(capacity) {
		*nOut = C.size_t(need)
		return fail(fmt.Errorf("%d logits do not fit in a buffer of %d: %w", need, capacity, errBufferTooSmall))
	}
	var logits []float32
	if err := offThread(func() (err error) { logits, err = s.s.Forward(in, true); return err }); err != nil {
		return fail(err)
	}
	return result(putFloats(logits, buf, capacity, nOut))
}

//export bitnet_session_tokens
func bitnet_session_tokens(p *C.bitnet_session, ids *C.int32_t, capacity C.size_t, n *C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	defer s.release()
	return result(putInt32s(s.s.Tokens(), ids, capacity, n))
}

//export bitnet_session_truncate
func bitnet_session_truncate(p *C.bitnet_session, n C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	defer s.release()
	if uint64(n) > 1<<31 {
		return fail(invalid("n = %d is too large", n))
	}
	return result(s.s.Truncate(int(n)))
}

//export bitnet_session_reset
func bitnet_session_reset(p *C.bitnet_session) (rc C.int32_t) {
	defer guard(&rc)
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	defer s.release()
	s.s.Reset()
	return C.BITNET_OK
}
