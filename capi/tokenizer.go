package main

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/tokenize"
)

var (
	errNoMemory    = fmt.Errorf("out of memory: %w", errs.ErrMemory)
	errNoTokenizer = fmt.Errorf("the model carries no tokenizer; load one with bitnet_tokenizer_load or give tokenizer_path: %w", errs.ErrTokenization)
)

// tokenizer is the object behind a bitnet_tokenizer handle.
type tokenizer struct {
	t      tokenize.Tokenizer
	source string
}

func newTokenizerHandle(t *tokenizer, out **C.bitnet_tokenizer) C.int32_t {
	p := newHandle(t, C.sizeof_struct_bitnet_tokenizer)
	if p == nil {
		return fail(errNoMemory)
	}
	*out = (*C.bitnet_tokenizer)(p)
	return C.BITNET_OK
}

//export bitnet_tokenizer_load
func bitnet_tokenizer_load(path *C.char, out **C.bitnet_tokenizer) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	if path == nil {
		return fail(invalid("path is NULL"))
	}
	p := C.GoString(path)
	t, err := tokenize.Load(p)
	if err != nil {
		return fail(err)
	}
	return newTokenizerHandle(&tokenizer{t: t, source: p}, out)
}

//export bitnet_tokenizer_free
func bitnet_tokenizer_free(p *C.bitnet_tokenizer) {
	defer guardVoid()
	freeHandle(unsafe.Pointer(p))
}

//export bitnet_tokenizer_get_info
func bitnet_tokenizer_get_info(p *C.bitnet_tokenizer, info *C.bitnet_tokenizer_info) (rc C.int32_t) {
	defer guard(&rc)
	tk, err := lookup[*tokenizer](unsafe.Pointer(p), "tokenizer")
	if err != nil {
		return fail(err)
	}
	if info == nil {
		return fail(invalid("info is NULL"))
	}
	t := tk.t
	*info = C.bitnet_tokenizer_info{}
	setFixed(&info.kind[0], len(info.kind), t.Kind())
	setFixed(&info.source[0], len(info.source), tk.source)
	info.vocab_size = C.int32_t(t.VocabSize())
	info.bos_id = C.int32_t(t.BOS())
	info.eos_id = C.int32_t(t.EOS())
	info.eot_id = C.int32_t(tokenizerEOT(t))
	info.pad_id = C.int32_t(tokenizerPAD(t))
	info.add_bos = cBool(tokenize.DefaultEncodeOptions(t).AddBOS)
	return C.BITNET_OK
}

// tokenizerEOT is the end-of-turn token (-1 when none).
func tokenizerEOT(t tokenize.Tokenizer) int32 {
	for _, id := range tokenize.EndOfGeneration(t) {
		if id != t.EOS() {
			return id
		}
	}
	return -1
}

// tokenizerPAD is the padding token (-1 when none).
func tokenizerPAD(t tokenize.Tokenizer) int32 {
	if p, ok := t.(interface{ PAD() int32 }); ok {
		return p.PAD()
	}
	return -1
}

// encode tokenizes text with the ABI's tri-state add_bos.
func encode(t tokenize.Tokenizer, text string, addBOS, parseSpecial C.int32_t) ([]int32, error) {
	opts := tokenize.DefaultEncodeOptions(t)
	switch addBOS {
	case 0:
		opts.AddBOS = false
	case 1:
		opts.AddBOS = true
	case -1:
	default:
		return nil, invalid("add_bos is %d: use 1, 0 or -1", addBOS)
	}
	opts.ParseSpecial = parseSpecial != 0
	return t.Encode(text, opts)
}

// putInt32s copies vals into a caller buffer of cap elements.
func putInt32s(vals []int32, buf *C.int32_t, capacity C.size_t, n *C.size_t) error {
	if n == nil {
		return invalid("n_out is NULL")
	}
	*n = C.size_t(len(vals))
	if len(vals) > int(capacity) {
		return fmt.Errorf("%d values do not fit in a buffer of %d: %w", len(vals), capacity, errBufferTooSmall)
	}
	if len(vals) > 0 {
		if buf == nil {
			return invalid("buffer is NULL")
		}
		copy(unsafe.Slice((*int32)(unsafe.Pointer(buf)), len(vals)), vals)
	}
	return nil
}

// putBytes copies s into a caller buffer (not NUL-terminated).
func putBytes(s string, buf *C.char, capacity C.size_t, n *C.size_t) error {
	if n == nil {
		return invalid("len_out is NULL")
	}
	*n = C.size_t(len(s))
	if len(s) > int(capacity) {
		return fmt.Errorf("%d bytes do not fit in a buffer of %d: %w", len(s), capacity, errBufferTooSmall)
	}
	if len(s) > 0 {
		if buf == nil {
			return invalid("buffer is NULL")
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(s)), s)
	}
	return nil
}

//export bitnet_tokenize
func bitnet_tokenize(p *C.bitnet_tokenizer, text *C.char, addBOS, parseSpecial C.int32_t, ids *C.int32_t, capacity C.size_t, n *C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	tk, err := lookup[*tokenizer](unsafe.Pointer(p), "tokenizer")
	if err != nil {
		return fail(err)
	}
	if text == nil {
		return fail(invalid("text is NULL"))
	}
	out, err := encode(tk.t, C.GoString(text), addBOS, parseSpecial)
	if err != nil {
		return fail(err)
	}
	return result(putInt32s(out, ids, capacity, n))
}

//export bitnet_detokenize
func bitnet_detokenize(p *C.bitnet_tokenizer, ids *C.int32_t, n C.size_t, skipSpecial C.int32_t, buf *C.char, capacity C.size_t, length *C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	tk, err := lookup[*tokenizer](unsafe.Pointer(p), "tokenizer")
	if err != nil {
		return fail(err)
	}
	in, err := int32s(ids, n)
	if err != nil {
		return fail(err)
	}
	// Like sentencepiece and HF tokenizers, the space that encoding
	// prefixed to the text is not part of the decoded text.
	text, err := tk.t.Decode(in, tokenize.DecodeOptions{SkipSpecial: skipSpecial != 0, StripLeadingSpace: true})
	if err != nil {
		return fail(err)
	}
	return result(putBytes(text, buf, capacity, length))
}

//export bitnet_token_to_piece
func bitnet_token_to_piece(p *C.bitnet_tokenizer, id C.int32_t, buf *C.char, capacity C.size_t, length *C.size_t) (rc C.int32_t) {
	defer guard(&rc)
	tk, err := lookup[*tokenizer](unsafe.Pointer(p), "tokenizer")
	if err != nil {
		return fail(err)
	}
	piece, err := tk.t.TokenToPiece(int32(id))
	if err != nil {
		return fail(err)
	}
	return result(putBytes(piece, buf, capacity, length))
}

// int32s copies a caller array of n ids (NULL allowed when n is 0).
func int32s(p *C.int32_t, n C.size_t) ([]int32, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, invalid("ids is NULL with n = %d", n)
	}
	if uint64(n) > 1<<31 {
		return nil, invalid("n = %d is too large", n)
	}
	return append([]int32(nil), unsafe.Slice((*int32)(unsafe.Pointer(p)), int(n))...), nil
}
