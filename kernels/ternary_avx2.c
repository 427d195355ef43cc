//go:build amd64 && cgo

/* Ternary matrix products with AVX2 (256-bit vectors): codes 0..2 (3 for
 * an unused code) as unsigned bytes times int8 activations with VPMADDUBSW,
 * whose int16 lanes are summed over up to 42 vectors before VPMADDWD widens
 * them (a lane is at most 2*3*128 = 768 in magnitude, so int16 never
 * saturates); the activation sum is subtracted afterwards
 * (sum (code-1) q = sum code q - sum q).
 *
 * Decode (n = 1): 8 rows at a time, each chunk unpacked in registers.
 * Prefill: 4 rows are unpacked once into scratch, then multiplied with the
 * tokens 2 at a time (8 accumulators). See ternary_x86_impl.h for the
 * layouts. */

#include <immintrin.h>
#include <string.h>

#include "ternary_x86_impl.h"

#define T2 __attribute__((target("avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline))

enum { RD2 = 8, RP2 = 4, TP2 = 2 };

INL int vpc2(int type) { return type == BITNET_TERN_I2S ? 4 : type == BITNET_TERN_TQ2 ? 8 : 10; }
INL int chunk2(int type) { return type == BITNET_TERN_I2S ? 32 : type == BITNET_TERN_TQ2 ? 66 : 54; }
/* Chunks whose int16 sums fit: a VPMADDUBSW lane is at most 2*3*128 = 768
 * in magnitude (codes up to 3 in I2_S and TQ2_0, 2 in TQ1_0: 512), and 42
 * (64) of them fit in int16. */
INL int group2(int type) { return type == BITNET_TERN_I2S ? 10 : type == BITNET_TERN_TQ2 ? 5 : 6; }
INL uint16_t load16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* The product must be rounded before it is added (no FMA contraction):
 * the reference computes acc += float32(dot) * d in two roundings. */
INL T2 __m256 rounded(__m256 x) {
    __asm__("" : "+x"(x));
    return x;
}

/* TQ1_0: the five trits of each byte of v, most significant first. With
 * x = b ^ 0x80 (signed), x_n = 3^n x mod 256 and trit n is
 * [x_n > -43] + [x_n > 42] (the same as ((b 3^n mod 256) * 3) >> 8). */
INL T2 void trits2(__m256i v, __m256i *c) {
    const __m256i lo = _mm256_set1_epi8(-43), hi = _mm256_set1_epi8(42);
    __m256i x = _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
    for (int n = 0; n < 5; n++) {
        c[n] = _mm256_abs_epi8(_mm256_add_epi8(_mm256_cmpgt_epi8(x, lo), _mm256_cmpgt_epi8(x, hi)));
        x = _mm256_add_epi8(x, _mm256_add_epi8(x, x));
    }
}

/* Unpacks the chunk at p into vpc2(type) code vectors. */
INL T2 void unpack2(int type, const uint8_t *p, __m256i *c) {
    const __m256i m3 = _mm256_set1_epi8(3);
    if (type == BITNET_TERN_I2S) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        for (int k = 0; k < 4; k++) c[k] = _mm256_and_si256(_mm256_srli_epi16(v, 6 - 2 * k), m3);
    } else if (type == BITNET_TERN_TQ2) {
        for (int h = 0; h < 2; h++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + 32 * h));
            for (int k = 0; k < 4; k++) c[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), m3);
        }
    } else {
        int32_t qh;
        memcpy(&qh, p + 48, 4);
        __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p + 32))),
                                            _mm_cvtsi32_si128(qh), 1);
        trits2(_mm256_loadu_si256((const __m256i *)p), c);
        trits2(b, c + 5);
    }
}

/* sum code*act over one chunk, as 8 int32 partial sums. */
INL T2 __m256i dot2(const __m256i *c, const int8_t *a, int vpc) {
    __m256i s = _mm256_maddubs_epi16(c[0], _mm256_loadu_si256((const __m256i *)a));
    for (int v = 1; v < vpc; v++)
        s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[v], _mm256_loadu_si256((const __m256i *)(a + 32 * v))));
    return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
}

/* Lane i of the result is the sum of the lanes of a[i]. */
INL T2 __m256i reduce8(const __m256i *a) {
    __m256i l = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(l, h, 0x20), _mm256_permute2x128_si256(l, h, 0x31));
}

/* The block scales (f16 at offset off) of 8 rows, lane r: built in
 * registers (a wide load of narrow stores would stall forwarding). */
INL T2 __m256 scales8(const uint8_t *const *rp, int64_t off) {
    return _mm256_cvtph_ps(_mm_setr_epi16((short)load16(rp[0] + off), (short)load16(rp[1] + off),
                                          (short)load16(rp[2] + off), (short)load16(rp[3] + off),
                                          (short)load16(rp[4] + off), (short)load16(rp[5] + off),
                                          (short)load16(rp[6] + off), (short)load16(rp[7] + off)));
}

/* The block scales of RP2 rows in lanes r*TP2+t. */
INL T2 __m256 scales_tile2(const uint8_t *const *rp, int64_t off) {
    __m128 d = _mm_cvtph_ps(_mm_setr_epi16((short)load16(rp[0] + off), (short)load16(rp[1] + off),
                                           (short)load16(rp[2] + off), (short)load16(rp[3] + off), 0, 0, 0, 0));
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
}

/* Whether every block scale of the row is 1 (then the row is one exact
 * integer sum, as in the reference). I2_S has no block scales. */
INL int row_ones(const tern_geom *g, const uint8_t *row) {
    for (int64_t b = 0; b < g->nb; b++)
        if (load16(row + b * g->chunk_bytes + g->doff) != TERN_F16_ONE) return 0;
    return 1;
}

/* Combines one chunk's block dots (lanes) into the float accumulator as
 * the reference does: acc += float32(dot) * d, in block order. */
INL T2 void add_block(__m256 *facc, __m256i *itot, __m256i dots, __m256 d) {
    *facc = _mm256_add_ps(*facc, rounded(_mm256_mul_ps(_mm256_cvtepi32_ps(dots), d)));
    *itot = _mm256_add_epi32(*itot, dots);
}

/* The accumulators of 8 rows (lanes) for one token (decode). ones: lane
 * mask of the rows whose block scales are all 1; all_ones: every row. */
INL T2 __m256 decode_rows2(int type, const tern_geom *g, const uint8_t *const *rp, int64_t pf, const int8_t *act,
                           const int32_t *qs, int all_ones, __m256i ones) {
    const int vpc = vpc2(type), cb = chunk2(type);
    __m256i code[10], acc[RD2];
    if (all_ones) {
        for (int r = 0; r < RD2; r++) acc[r] = _mm256_setzero_si256();
        for (int64_t c = 0; c < g->nchunks; c++) {
            const int8_t *a = act + c * vpc * 32;
            for (int r = 0; r < RD2; r++) {
                _mm_prefetch((const char *)(rp[r] + c * cb + pf), _MM_HINT_T0);
                unpack2(type, rp[r] + c * cb, code);
                acc[r] = _mm256_add_epi32(acc[r], dot2(code, a, vpc));
            }
        }
        return _mm256_cvtepi32_ps(_mm256_sub_epi32(reduce8(acc), _mm256_set1_epi32(qs[g->nb])));
    }
    __m256 facc = _mm256_setzero_ps();
    __m256i itot = _mm256_setzero_si256();
    for (int64_t c = 0; c < g->nchunks; c++) {
        const int8_t *a = act + c * vpc * 32;
        for (int r = 0; r < RD2; r++) {
            _mm_prefetch((const char *)(rp[r] + c * cb + pf), _MM_HINT_T0);
            unpack2(type, rp[r] + c * cb, code);
            acc[r] = dot2(code, a, vpc);
        }
        add_block(&facc, &itot, _mm256_sub_epi32(reduce8(acc), _mm256_set1_epi32(qs[c])),
                  scales8(rp, c * cb + g->doff));
    }
    return _mm256_blendv_ps(facc, _mm256_cvtepi32_ps(itot), _mm256_castsi256_ps(ones));
}

/* Unpacks RP2 rows into cbuf (stride bytes per row, arranged order). */
INL T2 void unpack_rows2(int type, const tern_geom *g, const uint8_t *const *rp, int8_t *cbuf) {
    const int vpc = vpc2(type), cb = chunk2(type);
    __m256i code[10];
    for (int r = 0; r < RP2; r++)
        for (int64_t c = 0; c < g->nchunks; c++) {
            unpack2(type, rp[r] + c * cb, code);
            __m256i *dst = (__m256i *)(cbuf + r * g->stride + c * vpc * 32);
            for (int v = 0; v < vpc; v++) _mm256_store_si256(dst + v, code[v]);
        }
}

/* The sums of nv vectors from offset off for RP2 rows x TP2 tokens (lane
 * r*TP2+t), in int16 (nv * 768 must not pass 32767, see group2), widened
 * to int32 at the end. */
INL T2 void chunk_tile2(int nv, const int8_t *cbuf, int64_t stride, const int8_t *const *at, int64_t off,
                        __m256i *out) {
    __m256i s[RP2 * TP2];
    for (int i = 0; i < RP2 * TP2; i++) s[i] = _mm256_setzero_si256();
    /* Unrolled, GCC hoists every product and spills; one vector at a time
     * keeps the 8 sums in registers. */
#pragma GCC unroll 1
    for (int v = 0; v < nv; v++) {
        __m256i a[TP2];
        for (int t = 0; t < TP2; t++) a[t] = _mm256_load_si256((const __m256i *)(at[t] + off + 32 * v));
        for (int r = 0; r < RP2; r++) {
            __m256i cv = _mm256_load_si256((const __m256i *)(cbuf + r * stride + off + 32 * v));
            for (int t = 0; t < TP2; t++) s[r * TP2 + t] = _mm256_add_epi16(s[r * TP2 + t], _mm256_maddubs_epi16(cv, a[t]));
        }
    }
    for (int i = 0; i < RP2 * TP2; i++) out[i] = _mm256_madd_epi16(s[i], _mm256_set1_epi16(1));
}

/* The accumulators of RP2 rows x TP2 tokens (lane r*TP2+t) from the codes
 * unpacked in cbuf; rp: the rows (for their block scales); at[t], qs[t]:
 * the arranged activations and sums of token t; ones: lane mask of the rows
 * whose block scales are all 1; all_ones: every row. */
INL T2 __m256 prefill_tile2(int type, const tern_geom *g, const uint8_t *const *rp, const int8_t *cbuf,
                            const int8_t *const *at, const int32_t *const *qs, int all_ones, __m256i ones) {
    const int vpc = vpc2(type), cb = chunk2(type);
    __m256i acc[RP2 * TP2], blk[RP2 * TP2];
    if (all_ones) {
        for (int i = 0; i < RP2 * TP2; i++) acc[i] = _mm256_setzero_si256();
        for (int64_t c = 0; c < g->nchunks; c += group2(type)) {
            int64_t nc = g->nchunks - c < group2(type) ? g->nchunks - c : group2(type);
            chunk_tile2((int)nc * vpc, cbuf, g->stride, at, c * vpc * 32, blk);
            for (int i = 0; i < RP2 * TP2; i++) acc[i] = _mm256_add_epi32(acc[i], blk[i]);
        }
        __m256i qt = _mm256_set_epi32(qs[1][g->nb], qs[0][g->nb], qs[1][g->nb], qs[0][g->nb], qs[1][g->nb],
                                      qs[0][g->nb], qs[1][g->nb], qs[0][g->nb]);
        return _mm256_cvtepi32_ps(_mm256_sub_epi32(reduce8(acc), qt));
    }
    __m256 facc = _mm256_setzero_ps();
    __m256i itot = _mm256_setzero_si256();
    for (int64_t c = 0; c < g->nchunks; c++) {
        chunk_tile2(vpc, cbuf, g->stride, at, c * vpc * 32, blk);
        __m256i qt = _mm256_set_epi32(qs[1][c], qs[0][c], qs[1][c], qs[0][c], qs[1][c], qs[0][c], qs[1][c], qs[0][c]);
        add_block(&facc, &itot, _mm256_sub_epi32(reduce8(blk), qt), scales_tile2(rp, c * cb + g->doff));
    }
    return _mm256_blendv_ps(facc, _mm256_cvtepi32_ps(itot), _mm256_castsi256_ps(ones));
}

INL T2 void matmul2(int type, const uint8_t *w, int64_t row_bytes, int64_t cols, int64_t rows, const int8_t *q,
                    const float *s, int64_t n, float scale, float *out, int64_t lo, int64_t hi, uint8_t *scratch) {
    tern_geom g;
    tern_geometry(&g, 0, type, cols, n);
    int8_t *act = (int8_t *)scratch, *cbuf = (int8_t *)(scratch + g.off_codes);
    int32_t *qsum = (int32_t *)(scratch + g.off_qsum);
    float *invs = (float *)(scratch + g.off_inv);
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int64_t t0 = 0; t0 < n; t0 += g.tb) {
        int64_t nt = n - t0 < g.tb ? n - t0 : g.tb;
        tern_prep(&g, q + t0 * cols, s + t0, cols, nt, act, qsum, invs);
        if (n == 1) {
            const __m256 inv = _mm256_set1_ps(invs[0]);
            for (int64_t r0 = lo; r0 < hi; r0 += RD2) {
                int64_t rr = hi - r0 < RD2 ? hi - r0 : RD2;
                const uint8_t *rp[RD2];
                int32_t m[RD2];
                int all = 1;
                for (int r = 0; r < RD2; r++) {
                    rp[r] = w + (r0 + (r < rr ? r : 0)) * row_bytes;
                    m[r] = -row_ones(&g, rp[r]);
                    all &= -m[r];
                }
                __m256 f = decode_rows2(type, &g, rp, RD2 * row_bytes, act, qsum, all, _mm256_loadu_si256((const __m256i *)m));
                f = _mm256_mul_ps(_mm256_mul_ps(f, inv), vscale);
                float res[RD2];
                _mm256_storeu_ps(res, f);
                memcpy(out + r0, res, (size_t)rr * sizeof(float));
            }
            continue;
        }
        for (int64_t r0 = lo; r0 < hi; r0 += RP2) {
            int64_t rr = hi - r0 < RP2 ? hi - r0 : RP2;
            const uint8_t *rp[RP2];
            int ones[RP2], all = 1;
            for (int r = 0; r < RP2; r++) {
                rp[r] = w + (r0 + (r < rr ? r : 0)) * row_bytes;
                ones[r] = row_ones(&g, rp[r]);
                all &= ones[r];
            }
            int32_t m[RP2 * TP2];
            for (int i = 0; i < RP2 * TP2; i++) m[i] = -ones[i / TP2];
            const __m256i mask = _mm256_loadu_si256((const __m256i *)m);
            unpack_rows2(type, &g, rp, cbuf);
            for (int64_t tt = 0; tt < nt; tt += TP2) {
                int64_t tn = nt - tt < TP2 ? nt - tt : TP2;
                const int8_t *at[TP2];
                const int32_t *qs[TP2];
                float inv[RP2 * TP2];
                for (int t = 0; t < TP2; t++) {
                    int64_t u = tt + (t < tn ? t : 0);
                    at[t] = act + u * g.stride;
                    qs[t] = qsum + u * (g.nb + 1);
                }
                for (int i = 0; i < RP2 * TP2; i++) inv[i] = invs[tt + (i % TP2 < tn ? i % TP2 : 0)];
                __m256 f = prefill_tile2(type, &g, rp, cbuf, at, qs, all, mask);
                f = _mm256_mul_ps(_mm256_mul_ps(f, _mm256_loadu_ps(inv)), vscale);
                float res[RP2 * TP2];
                _mm256_storeu_ps(res, f);
                for (int r = 0; r < rr; r++)
                    for (int t = 0; t < tn; t++) out[(t0 + tt + t) * rows + r0 + r] = res[r * TP2 + t];
            }
        }
    }
}

T2 void bitnet_tern_matmul_avx2(const uint8_t *w, int64_t row_bytes, int type, int64_t cols, int64_t rows,
                                const int8_t *q, const float *s, int64_t n, float scale, float *out, int64_t lo,
                                int64_t hi, uint8_t *scratch) {
    switch (type) {
    case BITNET_TERN_I2S:
        matmul2(BITNET_TERN_I2S, w, row_bytes, cols, rows, q, s, n, scale, out, lo, hi, scratch);
        break;
    case BITNET_TERN_TQ2:
        matmul2(BITNET_TERN_TQ2, w, row_bytes, cols, rows, q, s, n, scale, out, lo, hi, scratch);
        break;
    default:
        matmul2(BITNET_TERN_TQ1, w, row_bytes, cols, rows, q, s, n, scale, out, lo, hi, scratch);
        break;
    }
}
