package main

/*
#include "shim.h"
*/
import "C"

import (
	"unsafe"

	"github.com/bitnet-dev/bitnet/sampling"
)

const samplingConfigV1 = C.int32_t(unsafe.Sizeof(C.bitnet_sampling_config{}))

//export bitnet_sampling_config_default
func bitnet_sampling_config_default(cfg *C.bitnet_sampling_config) {
	defer guardVoid()
	if cfg == nil {
		return
	}
	fillSamplingDefaults(cfg)
}

func fillSamplingDefaults(cfg *C.bitnet_sampling_config) {
	d := sampling.DefaultConfig()
	*cfg = C.bitnet_sampling_config{
		struct_size:        samplingConfigV1,
		temperature:        C.float(d.Temperature),
		top_k:              C.int32_t(d.TopK),
		top_p:              C.float(d.TopP),
		min_p:              C.float(d.MinP),
		repetition_penalty: C.float(d.RepetitionPenalty),
		repeat_last_n:      C.int32_t(d.RepeatLastN),
		seed:               C.uint64_t(d.Seed),
	}
}

// samplingConfig converts and validates a C sampling config.
func samplingConfig(cfg *C.bitnet_sampling_config) (sampling.Config, error) {
	if cfg == nil {
		return sampling.DefaultConfig(), nil
	}
	if cfg.struct_size < samplingConfigV1 {
		return sampling.Config{}, invalid("bitnet_sampling_config.struct_size is %d, want %d: initialize it with bitnet_sampling_config_default", cfg.struct_size, samplingConfigV1)
	}
	c := sampling.Config{
		Temperature:       float32(cfg.temperature),
		TopK:              int(cfg.top_k),
		TopP:              float32(cfg.top_p),
		MinP:              float32(cfg.min_p),
		RepetitionPenalty: float32(cfg.repetition_penalty),
		RepeatLastN:       int(cfg.repeat_last_n),
		Seed:              uint64(cfg.seed),
	}
	return c, c.Validate()
}

//export bitnet_sampler_new
func bitnet_sampler_new(cfg *C.bitnet_sampling_config, out **C.bitnet_sampler) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	c, err := samplingConfig(cfg)
	if err != nil {
		return fail(err)
	}
	s, err := sampling.New(c)
	if err != nil {
		return fail(err)
	}
	p := newHandle(s, C.sizeof_struct_bitnet_sampler)
	if p == nil {
		return fail(errNoMemory)
	}
	*out = (*C.bitnet_sampler)(p)
	return C.BITNET_OK
}

//export bitnet_sampler_free
func bitnet_sampler_free(p *C.bitnet_sampler) {
	defer guardVoid()
	freeHandle(unsafe.Pointer(p))
}

//export bitnet_sampler_sample
func bitnet_sampler_sample(p *C.bitnet_sampler, logits *C.float, n C.size_t, history *C.int32_t, nHistory C.size_t, out *C.int32_t) (rc C.int32_t) {
	defer guard(&rc)
	s, err := lookup[*sampling.Sampler](unsafe.Pointer(p), "sampler")
	if err != nil {
		return fail(err)
	}
	if out == nil {
		return fail(invalid("out_token is NULL"))
	}
	if logits == nil || n == 0 || uint64(n) > 1<<31 {
		return fail(invalid("logits must be a non-empty array (n = %d)", n))
	}
	hist, err := int32s(history, nHistory)
	if err != nil {
		return fail(err)
	}
	// The sampler copies the logits before changing anything.
	id, err := s.Sample(unsafe.Slice((*float32)(unsafe.Pointer(logits)), int(n)), hist)
	if err != nil {
		return fail(err)
	}
	*out = C.int32_t(id)
	return C.BITNET_OK
}
