/* Internal to libbitnet: what the Go side of the C ABI needs from C. */
#ifndef BITNET_SHIM_H
#define BITNET_SHIM_H

#define BITNET_TYPES_ONLY
#include "bitnet.h"

#include <stdint.h>
#include <stdlib.h>

/* Opaque handles: a C allocation holding a runtime/cgo.Handle, so no Go
 * pointer is ever kept on the C side. */
struct bitnet_model { uintptr_t h; };
struct bitnet_session { uintptr_t h; };
struct bitnet_tokenizer { uintptr_t h; };
struct bitnet_sampler { uintptr_t h; };
struct bitnet_stream { uintptr_t h; };
struct bitnet_quantizer { uintptr_t h; };

#define BITNET_INTERNAL __attribute__((visibility("hidden")))

/* Records the last error of the calling thread (thread-local storage). */
BITNET_INTERNAL void bitnet_shim_set_error(int32_t code, const char *msg, size_t len);
/* Calls a piece callback (Go cannot call C function pointers directly). */
BITNET_INTERNAL int32_t bitnet_shim_call_piece(bitnet_piece_callback cb, void *user, int32_t token, const char *text,
                                               size_t len);

#endif
