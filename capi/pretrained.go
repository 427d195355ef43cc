package main

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/hub"
)

// errStoppedByCallback is the cancel cause when a progress callback asks to
// stop.
var errStoppedByCallback = fmt.Errorf("the progress callback stopped the download: %w", errs.ErrCanceled)

// hubClient is a hub client from the environment with the hub fields of
// cfg (when its struct_size covers them) applied.
func hubClient(cfg *C.bitnet_model_config, cancel context.CancelCauseFunc) *hub.Client {
	c := hub.NewClient()
	if cfg == nil || cfg.struct_size < modelConfigV2 {
		return c
	}
	if s := cString(cfg.hub_endpoint); s != "" {
		c.Endpoint = s
	}
	if s := cString(cfg.hub_cache_dir); s != "" {
		c.HubCacheDir = s
	}
	if s := cString(cfg.hub_token); s != "" {
		c.Token = s
	}
	if cfg.offline != 0 {
		c.Offline = true
	}
	if cfg.progress != nil {
		c.Progress = progressHook(cfg.progress, unsafe.Pointer(cfg.progress_user), func() { cancel(errStoppedByCallback) })
	}
	return c
}

//export bitnet_model_load_pretrained
func bitnet_model_load_pretrained(repo, revision *C.char, cfg *C.bitnet_model_config, out **C.bitnet_model) (rc C.int32_t) {
	defer guard(&rc)
	if out == nil {
		return fail(invalid("out is NULL"))
	}
	*out = nil
	if repo == nil {
		return fail(invalid("repo_id is NULL"))
	}
	opts, tokPath, err := modelOptions(cfg)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	c := hubClient(cfg, cancel)
	m, err := engine.FromPretrainedWith(ctx, c, C.GoString(repo), cString(revision), opts)
	if err != nil {
		if errors.Is(context.Cause(ctx), errStoppedByCallback) && !errors.Is(err, errs.ErrCanceled) {
			err = fmt.Errorf("%w: %w", errStoppedByCallback, err)
		}
		return fail(err)
	}
	return newModelHandle(m, tokPath, out)
}
