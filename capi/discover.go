package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"unsafe"

	"github.com/bitnet-dev/bitnet/tokenize/discovery"
)

const discoveryConfigV1 = C.int32_t(unsafe.Sizeof(C.bitnet_discovery_config{}))

//export bitnet_discovery_config_default
func bitnet_discovery_config_default(cfg *C.bitnet_discovery_config) {
	defer guardVoid()
	if cfg != nil {
		*cfg = C.bitnet_discovery_config{struct_size: discoveryConfigV1}
	}
}

// decisionJSON is the JSON form of a discovery decision.
type decisionJSON struct {
	Strategy   string   `json:"strategy"`
	Path       string   `json:"path"`
	Repo       string   `json:"repo"`
	Reason     string   `json:"reason"`
	Tried      []string `json:"tried"`
	ModelVocab int      `json:"model_vocab"`
}

//export bitnet_tokenizer_discover
func bitnet_tokenizer_discover(modelPath *C.char, cfg *C.bitnet_discovery_config, out **C.bitnet_tokenizer, decision **C.char) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	if decision != nil {
		*decision = nil
	}
	if modelPath == nil {
		return fail(invalid("model_path is NULL"))
	}
	var opts discovery.Options
	if cfg != nil {
		if cfg.struct_size < discoveryConfigV1 {
			return fail(invalid("bitnet_discovery_config.struct_size is %d, want %d: initialize it with bitnet_discovery_config_default", cfg.struct_size, discoveryConfigV1))
		}
		opts.TokenizerPath = cString(cfg.tokenizer_path)
		opts.AllowMock = cfg.allow_mock != 0
		opts.Offline = cfg.offline != 0
	}
	t, d, err := discovery.Discover(context.Background(), C.GoString(modelPath), opts)
	if decision != nil {
		b, jerr := json.Marshal(decisionJSON{Strategy: d.Strategy.String(), Path: d.Path, Repo: d.Repo, Reason: d.Reason,
			Tried: append([]string{}, d.Tried...), ModelVocab: d.ModelVocab})
		if jerr == nil {
			*decision = newCString(string(b))
		}
	}
	if err != nil {
		return fail(err)
	}
	source := d.Path
	if source == "" {
		source = d.Strategy.String()
	}
	return newTokenizerHandle(&tokenizer{t: t, source: source}, out)
}
