/* The parts of libbitnet written in C: thread-local error state, string
 * release, and the callback trampoline. These definitions are checked by
 * the compiler against the public prototypes of bitnet.h. */
#include <stdlib.h>
#include <string.h>

#include "bitnet.h"
#include "shim.h"

static __thread int32_t last_code;
static __thread char *last_message;

void bitnet_shim_set_error(int32_t code, const char *msg, size_t len) {
    char *m = malloc(len + 1);
    if (m != NULL) {
        memcpy(m, msg, len);
        m[len] = 0;
    }
    free(last_message);
    last_message = m;
    last_code = code;
}

int32_t bitnet_last_error_code(void) { return last_code; }

const char *bitnet_last_error(void) { return last_message != NULL ? last_message : ""; }

void bitnet_free_string(char *s) { free(s); }

int32_t bitnet_abi_version(void) { return BITNET_ABI_VERSION; }

int32_t bitnet_shim_call_piece(bitnet_piece_callback cb, void *user, int32_t token, const char *text, size_t len) {
    return cb(user, token, text, len);
}
