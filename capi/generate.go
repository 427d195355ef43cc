package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"time"
	"unsafe"

	"github.com/bitnet-dev/bitnet/engine"
)

const generationConfigV1 = C.int32_t(unsafe.Sizeof(C.bitnet_generation_config{}))

//export bitnet_generation_config_default
func bitnet_generation_config_default(cfg *C.bitnet_generation_config) {
	defer guardVoid()
	if cfg == nil {
		return
	}
	*cfg = C.bitnet_generation_config{struct_size: generationConfigV1, max_new_tokens: 100, skip_special_tokens: 1, add_bos: -1}
	fillSamplingDefaults(&cfg.sampling)
}

// request is a generation request decoded from C.
type request struct {
	prompt       string
	opts         engine.GenerateOptions
	addBOS       C.int32_t
	parseSpecial C.int32_t
}

func newRequest(prompt *C.char, cfg *C.bitnet_generation_config) (request, error) {
	var r request
	if prompt == nil {
		return r, invalid("prompt is NULL")
	}
	r.prompt = C.GoString(prompt)
	var c C.bitnet_generation_config
	if cfg == nil {
		bitnet_generation_config_default(&c)
		cfg = &c
	}
	if cfg.struct_size < generationConfigV1 {
		return r, invalid("bitnet_generation_config.struct_size is %d, want %d: initialize it with bitnet_generation_config_default", cfg.struct_size, generationConfigV1)
	}
	if cfg.max_new_tokens <= 0 {
		return r, invalid("max_new_tokens is %d, must be positive", cfg.max_new_tokens)
	}
	sc, err := samplingConfig(&cfg.sampling)
	if err != nil {
		return r, err
	}
	r.opts = engine.GenerateOptions{
		MaxNewTokens:      int(cfg.max_new_tokens),
		Sampling:          sc,
		SkipSpecialTokens: cfg.skip_special_tokens != 0,
		IgnoreEOS:         cfg.ignore_eos != 0,
		ReusePrefix:       cfg.reuse_prefix != 0,
	}
	if cfg.n_stop_sequences > 0 {
		if cfg.stop_sequences == nil || cfg.n_stop_sequences > 1024 {
			return r, invalid("stop_sequences: %d entries at %p", cfg.n_stop_sequences, cfg.stop_sequences)
		}
		for i, p := range unsafe.Slice(cfg.stop_sequences, int(cfg.n_stop_sequences)) {
			if p == nil {
				return r, invalid("stop_sequences[%d] is NULL", i)
			}
			r.opts.StopSequences = append(r.opts.StopSequences, C.GoString(p))
		}
	}
	r.addBOS, r.parseSpecial = cfg.add_bos, cfg.parse_special
	return r, nil
}

// start tokenizes the request's prompt and starts a generator on s.
func (s *session) start(r request) (*engine.Generator, time.Duration, error) {
	tok := s.mo.m.Tokenizer
	if tok == nil {
		return nil, 0, errNoTokenizer
	}
	t0 := time.Now()
	var ids []int32
	// The prompt is tokenized unless it is empty and the sequence simply
	// continues (appending, without BOS).
	if r.prompt != "" || r.opts.ReusePrefix || r.addBOS == 1 || len(s.s.Tokens()) == 0 {
		var err error
		if ids, err = encode(tok, r.prompt, r.addBOS, r.parseSpecial); err != nil {
			return nil, 0, err
		}
	}
	if len(ids) == 0 && len(s.s.Tokens()) == 0 {
		return nil, 0, invalid("the prompt is empty, no BOS token is added and the session is empty: nothing to generate from")
	}
	tokenize := time.Since(t0)
	g, err := s.s.Start(context.Background(), ids, r.opts)
	return g, tokenize, err
}

// fillMetrics writes a result's figures.
func fillMetrics(m *C.bitnet_metrics, res *engine.Result, tokenize time.Duration) {
	if m == nil || res == nil {
		return
	}
	t := res.Timing
	t.Tokenize = tokenize
	total := t.Tokenize + t.Prefill + t.Decode
	*m = C.bitnet_metrics{
		tokenize_ms:               C.double(msOf(t.Tokenize)),
		prefill_ms:                C.double(msOf(t.Prefill)),
		decode_ms:                 C.double(msOf(t.Decode)),
		total_ms:                  C.double(msOf(total)),
		prefill_tokens_per_second: C.double(t.PrefillTokensPerSecond()),
		decode_tokens_per_second:  C.double(t.DecodeTokensPerSecond()),
		prompt_tokens:             C.int32_t(t.PromptTokens),
		cached_prompt_tokens:      C.int32_t(t.CachedTokens),
		generated_tokens:          C.int32_t(t.GeneratedTokens),
	}
	if total > 0 {
		m.e2e_tokens_per_second = C.double(float64(t.GeneratedTokens) / total.Seconds())
	}
	setFixed(&m.stop_reason[0], len(m.stop_reason), string(res.StopReason))
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

//export bitnet_generate
func bitnet_generate(p *C.bitnet_session, prompt *C.char, cfg *C.bitnet_generation_config, cb C.bitnet_piece_callback, user unsafe.Pointer, outText **C.char, metrics *C.bitnet_metrics) (rc C.int32_t) {
	defer guard(&rc)
	if outText != nil {
		*outText = nil
	}
	r, err := newRequest(prompt, cfg)
	if err != nil {
		return fail(err)
	}
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	defer s.release()
	var (
		g        *engine.Generator
		tokenize time.Duration
		genErr   error
	)
	err = offThread(func() error {
		var err error
		g, tokenize, err = s.start(r)
		return err
	})
	if err != nil {
		return fail(err)
	}
	for {
		var piece engine.Piece
		var ok bool
		if err := offThread(func() (err error) { piece, ok, err = g.Next(); return err }); err != nil {
			genErr = err
			break
		}
		if !ok {
			break
		}
		// The callback runs on the caller's thread.
		if cb != nil && !callPiece(cb, user, piece) {
			break
		}
	}
	res := g.Close()
	fillMetrics(metrics, res, tokenize)
	if outText != nil {
		*outText = newCString(res.Text)
	}
	return result(genErr)
}

// callPiece hands one piece to a C callback; false means stop.
func callPiece(cb C.bitnet_piece_callback, user unsafe.Pointer, piece engine.Piece) bool {
	var text *C.char
	if len(piece.Text) > 0 {
		// C may read the bytes during the call only (they hold no Go
		// pointers).
		text = (*C.char)(unsafe.Pointer(unsafe.StringData(piece.Text)))
	}
	return C.bitnet_shim_call_piece(cb, user, C.int32_t(piece.Token), text, C.size_t(len(piece.Text))) == 0
}

// stream is the object behind a bitnet_stream handle. It holds its session
// (acquired) until freed.
type stream struct {
	s        *session
	g        *engine.Generator
	tokenize time.Duration
	held     *engine.Piece // a piece that did not fit the caller's buffer
	done     bool
	res      *engine.Result
}

//export bitnet_stream_start
func bitnet_stream_start(p *C.bitnet_session, prompt *C.char, cfg *C.bitnet_generation_config, out **C.bitnet_stream) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	r, err := newRequest(prompt, cfg)
	if err != nil {
		return fail(err)
	}
	s, err := useSession(p)
	if err != nil {
		return fail(err)
	}
	var (
		g        *engine.Generator
		tokenize time.Duration
	)
	err = offThread(func() error {
		var err error
		g, tokenize, err = s.start(r)
		return err
	})
	if err != nil {
		s.release()
		return fail(err)
	}
	h := newHandle(&stream{s: s, g: g, tokenize: tokenize}, C.sizeof_struct_bitnet_stream)
	if h == nil {
		g.Close()
		s.release()
		return fail(errNoMemory)
	}
	*out = (*C.bitnet_stream)(h)
	return C.BITNET_OK
}

//export bitnet_stream_next
func bitnet_stream_next(p *C.bitnet_stream, token *C.int32_t, buf *C.char, capacity C.size_t, length *C.size_t, done *C.int32_t) (rc C.int32_t) {
	defer guard(&rc)
	st, err := lookup[*stream](unsafe.Pointer(p), "stream")
	if err != nil {
		return fail(err)
	}
	if done == nil || length == nil {
		return fail(invalid("done and len_out must not be NULL"))
	}
	*done, *length = 0, 0
	if st.done {
		*done = 1
		return C.BITNET_OK
	}
	var piece engine.Piece
	if st.held != nil {
		piece, st.held = *st.held, nil
	} else {
		var ok bool
		err = offThread(func() error {
			var err error
			piece, ok, err = st.g.Next()
			return err
		})
		if err != nil {
			st.finish()
			*done = 1
			return fail(err)
		}
		if !ok {
			st.finish()
			*done = 1
			return C.BITNET_OK
		}
	}
	if token != nil {
		*token = C.int32_t(piece.Token)
	}
	if err := putBytes(piece.Text, buf, capacity, length); err != nil {
		st.held = &piece
		return fail(err)
	}
	if int(capacity) > len(piece.Text) {
		*(*byte)(unsafe.Add(unsafe.Pointer(buf), len(piece.Text))) = 0
	}
	return C.BITNET_OK
}

// finish closes the generator and releases the session (once).
func (st *stream) finish() {
	if !st.done {
		st.done = true
		st.res = st.g.Close()
		st.s.release()
	}
}

//export bitnet_stream_metrics
func bitnet_stream_metrics(p *C.bitnet_stream, metrics *C.bitnet_metrics) (rc C.int32_t) {
	defer guard(&rc)
	st, err := lookup[*stream](unsafe.Pointer(p), "stream")
	if err != nil {
		return fail(err)
	}
	if metrics == nil {
		return fail(invalid("metrics is NULL"))
	}
	st.finish() // a stream asked before it is done stops ("stopped")
	fillMetrics(metrics, st.res, st.tokenize)
	return C.BITNET_OK
}

//export bitnet_stream_free
func bitnet_stream_free(p *C.bitnet_stream) {
	defer guardVoid()
	if st, err := lookup[*stream](unsafe.Pointer(p), "stream"); err == nil {
		st.finish()
	}
	freeHandle(unsafe.Pointer(p))
}
