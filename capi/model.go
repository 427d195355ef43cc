package main

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"strings"
	"unsafe"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// model is the object behind a bitnet_model handle.
type model struct {
	m *engine.Model
}

// Sizes of bitnet_model_config: V1 ends before the hub fields (callers
// built against the first header), V2 is the current struct.
const (
	modelConfigV1 = C.int32_t(unsafe.Offsetof(C.bitnet_model_config{}.hub_endpoint))
	modelConfigV2 = C.int32_t(unsafe.Sizeof(C.bitnet_model_config{}))
)

//export bitnet_model_config_default
func bitnet_model_config_default(cfg *C.bitnet_model_config) {
	defer guardVoid()
	if cfg == nil {
		return
	}
	*cfg = C.bitnet_model_config{}
	cfg.struct_size = modelConfigV2
}

// modelOptions checks a model config and turns it into engine options.
func modelOptions(cfg *C.bitnet_model_config) (engine.Options, string, error) {
	var opts engine.Options
	if cfg == nil {
		return opts, "", nil
	}
	if cfg.struct_size < modelConfigV1 {
		return opts, "", invalid("bitnet_model_config.struct_size is %d, want at least %d: initialize it with bitnet_model_config_default", cfg.struct_size, modelConfigV1)
	}
	if cfg.n_threads < 0 || cfg.context_length < 0 || cfg.device_index < 0 {
		return opts, "", invalid("n_threads, context_length and device_index must not be negative")
	}
	opts.Threads = int(cfg.n_threads)
	opts.ContextLength = int(cfg.context_length)
	opts.Device = engine.Device{Kind: engine.DeviceKind(cfg.device_kind), Index: int(cfg.device_index)}
	return opts, cString(cfg.tokenizer_path), nil
}

//export bitnet_model_load
func bitnet_model_load(path *C.char, cfg *C.bitnet_model_config, out **C.bitnet_model) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	if path == nil {
		return fail(invalid("path is NULL"))
	}
	opts, tokPath, err := modelOptions(cfg)
	if err != nil {
		return fail(err)
	}
	m, err := engine.Load(C.GoString(path), opts)
	if err != nil {
		return fail(err)
	}
	return newModelHandle(m, tokPath, out)
}

// newModelHandle gives a loaded model (with the tokenizer of tokPath, when
// set) to the caller as a handle; on failure it closes m.
func newModelHandle(m *engine.Model, tokPath string, out **C.bitnet_model) C.int32_t {
	if tokPath != "" {
		tok, err := tokenize.Load(tokPath)
		if err == nil {
			err = m.SetTokenizer(tok)
		}
		if err != nil {
			m.Close()
			return fail(err)
		}
	}
	p := newHandle(&model{m: m}, C.sizeof_struct_bitnet_model)
	if p == nil {
		m.Close()
		return fail(errNoMemory)
	}
	*out = (*C.bitnet_model)(p)
	return C.BITNET_OK
}

//export bitnet_model_free
func bitnet_model_free(p *C.bitnet_model) {
	defer guardVoid()
	if mo, err := lookup[*model](unsafe.Pointer(p), "model"); err == nil {
		mo.m.Close()
	}
	freeHandle(unsafe.Pointer(p))
}

//export bitnet_model_get_info
func bitnet_model_get_info(p *C.bitnet_model, info *C.bitnet_model_info) (rc C.int32_t) {
	defer guard(&rc)
	mo, err := lookup[*model](unsafe.Pointer(p), "model")
	if err != nil {
		return fail(err)
	}
	if info == nil {
		return fail(invalid("info is NULL"))
	}
	m := mo.m
	i, hp := m.Info, m.Hyper
	*info = C.bitnet_model_info{}
	setFixed(&info.name[0], len(info.name), i.Name)
	setFixed(&info.architecture[0], len(info.architecture), i.Architecture)
	setFixed(&info.weight_type[0], len(info.weight_type), i.WeightType)
	setFixed(&info.backend[0], len(info.backend), i.Backend)
	info.num_parameters = C.uint64_t(i.Parameters)
	info.model_size = C.uint64_t(i.FileSize)
	info.bits_per_weight = C.double(i.BitsPerWeight)
	info.ternary = cBool(i.Ternary)
	info.vocab_size = C.int32_t(hp.Vocab)
	info.context_length = C.int32_t(m.ContextLength())
	info.train_context_length = C.int32_t(hp.ContextLength)
	info.embedding_length = C.int32_t(hp.Dim)
	info.block_count = C.int32_t(hp.Layers)
	info.head_count = C.int32_t(hp.Heads)
	info.head_count_kv = C.int32_t(hp.KVHeads)
	info.feed_forward_length = C.int32_t(hp.FFN)
	info.n_threads = C.int32_t(i.Threads)
	info.device_kind = C.int32_t(m.Device().Kind)
	info.device_index = C.int32_t(m.Device().Index)
	info.load_ms = C.double(float64(m.LoadTime().Microseconds()) / 1000)
	return C.BITNET_OK
}

//export bitnet_model_metadata_json
func bitnet_model_metadata_json(p *C.bitnet_model, out **C.char) (rc C.int32_t) {
	defer guard(&rc)
	mo, err := lookup[*model](unsafe.Pointer(p), "model")
	if err != nil {
		return fail(err)
	}
	if out == nil {
		return fail(invalid("out_json is NULL"))
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range mo.m.Source().Metadata.Entries() {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.Key)
		v, err := json.Marshal(kv.Value.JSON(true))
		if err != nil {
			return fail(err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	*out = newCString(b.String())
	return C.BITNET_OK
}

//export bitnet_model_tokenizer
func bitnet_model_tokenizer(p *C.bitnet_model, out **C.bitnet_tokenizer) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	mo, err := lookup[*model](unsafe.Pointer(p), "model")
	if err != nil {
		return fail(err)
	}
	if mo.m.Tokenizer == nil {
		return fail(errNoTokenizer)
	}
	return newTokenizerHandle(&tokenizer{t: mo.m.Tokenizer, source: mo.m.Info.Path}, out)
}

func cBool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}
