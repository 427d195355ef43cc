/* Internal to the ternary x86 kernels: the geometry both instruction sets
 * share and the activation layout ("arranged" order).
 *
 * A row is cut into chunks; one chunk unpacks into vpc vectors of vb code
 * bytes (0..2, or 3 for an unused I2_S/TQ2_0 code, meaning +2 as in the
 * reference decoder). Each token's activations are rearranged once into the
 * same order, so vector v of chunk c pairs with the vb bytes at
 * c*vpc*vb + v*vb of the arranged row (zeros where a code lane holds no
 * weight). Per chunk:
 *   I2_S, 32-byte vectors: one 128-block, natural order (shifts 6,4,2,0).
 *   I2_S, 64-byte vectors: two 128-blocks; vector n = [q 32n.., q 128+32n..]
 *     (an odd last block leaves the upper halves zero).
 *   TQ2_0: one 256-block (66 bytes). 32-byte vectors: natural order; 64-byte:
 *     vector n = [q 32n.., q 128+32n..].
 *   TQ1_0: one 256-block (54 bytes). 32-byte: qs[0..31] gives 5 vectors of
 *     q 0..159 in natural order, then [qs[32..47], qh[0..3]] gives 5 vectors
 *     [q 160+16n.. (16), q 240+4n.. (4, none for n = 4), 12 zeros].
 *     64-byte: the 52 data bytes give 5 vectors
 *     [q 32n.. (32), q 160+16n.. (16), q 240+4n.. (4 or none), 12 zeros]. */
#ifndef BITNET_TERNARY_X86_IMPL_H
#define BITNET_TERNARY_X86_IMPL_H

#include <stdint.h>

#include "ternary_x86.h"

typedef struct {
    int type;
    int wide;         /* 64-byte vectors (AVX-512) */
    int vb;           /* bytes per vector */
    int vpc;          /* code vectors per chunk */
    int chunk_bytes;  /* row bytes per chunk */
    int64_t nchunks;  /* chunks per row */
    int half_last;    /* I2_S, wide: the last chunk holds one 128-block */
    int64_t nb;       /* 256-weight scale blocks per row (0 for I2_S) */
    int doff;         /* offset of a block's f16 scale in its chunk (TQ) */
    int64_t stride;   /* arranged activation bytes per token */
    int rd;           /* rows per decode (n = 1) tile */
    int rp, tp;       /* rows and tokens per prefill tile */
    int64_t tb;       /* tokens arranged at a time */
    /* scratch layout (offsets from the 64-aligned base) */
    int64_t off_qsum, off_inv, off_codes, total;
} tern_geom;

/* The 256-block scale of a TQ chunk is 1.0 (f16 0x3C00). */
#define TERN_F16_ONE 0x3C00

void tern_geometry(tern_geom *g, int wide, int type, int64_t cols, int64_t n);

/* Arranges ntok tokens of q (cols each) into act (g->stride each), writes
 * their sums into qsum [ntok][nb+1] (per 256-block, then the whole row) and
 * 1/s into inv [ntok]. */
void tern_prep(const tern_geom *g, const int8_t *q, const float *s, int64_t cols, int64_t ntok, int8_t *act,
               int32_t *qsum, float *inv);

#endif
