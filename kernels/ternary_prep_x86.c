//go:build amd64 && cgo

/* Geometry and activation arrangement shared by the AVX2 and AVX-512
 * ternary kernels (plain C: it runs once per token, not per weight). */

#include <string.h>

#include "ternary_x86_impl.h"

/* Activation bytes arranged at a time: small enough to stay in L2 while
 * the weights of a row tile stream past. */
#define TERN_ACT_BLOCK (160 * 1024)

static int64_t round64(int64_t x) { return (x + 63) & ~(int64_t)63; }

void tern_geometry(tern_geom *g, int wide, int type, int64_t cols, int64_t n) {
    memset(g, 0, sizeof *g);
    g->type = type;
    g->wide = wide;
    g->vb = wide ? 64 : 32;
    g->rd = wide ? 16 : 8;
    g->rp = 4;
    g->tp = wide ? 4 : 2;
    switch (type) {
    case BITNET_TERN_I2S:
        g->vpc = 4;
        g->chunk_bytes = wide ? 64 : 32;
        g->nchunks = wide ? (cols / 128 + 1) / 2 : cols / 128;
        g->half_last = wide && (cols / 128) % 2 == 1;
        break;
    case BITNET_TERN_TQ2:
        g->vpc = wide ? 4 : 8;
        g->chunk_bytes = 66;
        g->nchunks = g->nb = cols / 256;
        g->doff = 64;
        break;
    default:
        g->vpc = wide ? 5 : 10;
        g->chunk_bytes = 54;
        g->nchunks = g->nb = cols / 256;
        g->doff = 52;
        break;
    }
    g->stride = g->nchunks * g->vpc * g->vb;
    if (n <= 1) {
        g->tb = 1;
    } else {
        int64_t tb = TERN_ACT_BLOCK / g->stride / g->tp * g->tp;
        g->tb = tb < g->tp ? g->tp : tb;
        if (g->tb > n) g->tb = n;
    }
    g->off_qsum = round64(g->tb * g->stride);
    g->off_inv = g->off_qsum + round64(g->tb * (g->nb + 1) * 4);
    g->off_codes = g->off_inv + round64(g->tb * 4);
    g->total = g->off_codes + (n > 1 ? round64(g->rp * g->stride) : 0);
}

int64_t bitnet_tern_scratch_bytes(int wide, int type, int64_t cols, int64_t n) {
    tern_geom g;
    tern_geometry(&g, wide, type, cols, n);
    return g.total;
}

/* Chunks of two 128-halves in 64-byte vectors: vector n = [q 32n.., q 128+32n..]
 * (I2_S wide, TQ2_0 wide); half: only the first 128 weights exist. */
static void arrange_pairs(const int8_t *q, int8_t *dst, int half) {
    for (int n = 0; n < 4; n++) {
        memcpy(dst + 64 * n, q + 32 * n, 32);
        if (half)
            memset(dst + 64 * n + 32, 0, 32);
        else
            memcpy(dst + 64 * n + 32, q + 128 + 32 * n, 32);
    }
}

/* One TQ1_0 block (256 weights of q) into 320 arranged bytes. */
static void arrange_tq1(const int8_t *q, int8_t *dst, int wide) {
    for (int n = 0; n < 5; n++) {
        int8_t *v = wide ? dst + 64 * n : dst;
        if (wide) {
            memcpy(v, q + 32 * n, 32);
            v += 32;
        } else {
            memcpy(dst + 32 * n, q + 32 * n, 32);
            v = dst + 160 + 32 * n;
        }
        memcpy(v, q + 160 + 16 * n, 16);
        if (n < 4)
            memcpy(v + 16, q + 240 + 4 * n, 4);
        else
            memset(v + 16, 0, 4);
        memset(v + 20, 0, 12);
    }
}

void tern_prep(const tern_geom *g, const int8_t *q, const float *s, int64_t cols, int64_t ntok, int8_t *act,
               int32_t *qsum, float *inv) {
    for (int64_t t = 0; t < ntok; t++) {
        inv[t] = 1.0f / s[t];
        const int8_t *qt = q + t * cols;
        int8_t *at = act + t * g->stride;
        int32_t *st = qsum + t * (g->nb + 1);
        int32_t total = 0;
        if (g->nb > 0) {
            for (int64_t b = 0; b < g->nb; b++) {
                int32_t sum = 0;
                for (int j = 0; j < 256; j++) sum += qt[256 * b + j];
                st[b] = sum;
                total += sum;
            }
        } else {
            for (int64_t j = 0; j < cols; j++) total += qt[j];
        }
        st[g->nb] = total;

        if (g->type == BITNET_TERN_TQ1) {
            for (int64_t b = 0; b < g->nb; b++) arrange_tq1(qt + 256 * b, at + 320 * b, g->wide);
        } else if (!g->wide) {
            memcpy(at, qt, (size_t)cols);
        } else {
            for (int64_t c = 0; c < g->nchunks; c++)
                arrange_pairs(qt + 256 * c, at + 256 * c, g->half_last && c == g->nchunks - 1);
        }
    }
}
