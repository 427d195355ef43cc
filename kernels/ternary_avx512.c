//go:build amd64 && cgo

/* Ternary matrix products with AVX-512 VNNI (512-bit vectors): codes 0..2
 * (3 for an unused code) as unsigned bytes times int8 activations with
 * VPDPBUSD straight into int32 lanes; the activation sum is subtracted
 * afterwards (sum (code-1) q = sum code q - sum q).
 *
 * Decode (n = 1): 16 rows at a time, each chunk unpacked in registers.
 * Prefill: 4 rows are unpacked once into scratch, then multiplied with the
 * tokens 4 at a time (16 accumulators). See ternary_x86_impl.h for the
 * layouts. */

#include <immintrin.h>
#include <string.h>

#include "ternary_x86_impl.h"

#define T5 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define INL static inline __attribute__((always_inline))

enum { RD5 = 16, RP5 = 4, TP5 = 4 };

INL int vpc5(int type) { return type == BITNET_TERN_TQ1 ? 5 : 4; }
INL int chunk5(int type) { return type == BITNET_TERN_I2S ? 64 : type == BITNET_TERN_TQ2 ? 66 : 54; }
INL uint16_t load16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* The product must be rounded before it is added (no FMA contraction). */
INL T5 __m512 rounded(__m512 x) {
    __asm__("" : "+v"(x));
    return x;
}

/* TQ1_0 trits, as in ternary_avx2.c: with x = b ^ 0x80, x_n = 3^n x mod
 * 256 and trit n = [x_n > -43] + [x_n > 42]. */
INL T5 void trits5(__m512i v, __m512i *c) {
    const __m512i lo = _mm512_set1_epi8(-43), hi = _mm512_set1_epi8(42);
    const __m512i one = _mm512_set1_epi8(1), two = _mm512_set1_epi8(2);
    __m512i x = _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
    for (int n = 0; n < 5; n++) {
        __m512i t = _mm512_maskz_mov_epi8(_mm512_cmpgt_epi8_mask(x, lo), one);
        c[n] = _mm512_mask_mov_epi8(t, _mm512_cmpgt_epi8_mask(x, hi), two);
        x = _mm512_add_epi8(x, _mm512_add_epi8(x, x));
    }
}

/* Unpacks the chunk at p into vpc5(type) code vectors; half: an I2_S chunk
 * with only its first 128-block (codes of the rest are 0). */
INL T5 void unpack5(int type, const uint8_t *p, __m512i *c, int half) {
    const __m512i m3 = _mm512_set1_epi8(3);
    if (type == BITNET_TERN_TQ1) {
        trits5(_mm512_maskz_loadu_epi8(0x000FFFFFFFFFFFFFull, p), c);
        return;
    }
    __m512i v = half ? _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)p))
                     : _mm512_loadu_si512((const void *)p);
    for (int k = 0; k < 4; k++) {
        int sh = type == BITNET_TERN_I2S ? 6 - 2 * k : 2 * k;
        c[k] = _mm512_and_si512(_mm512_srli_epi16(v, sh), m3);
    }
}

INL T5 __m512i dot5(__m512i acc, const __m512i *c, const int8_t *a, int vpc) {
    for (int v = 0; v < vpc; v++) acc = _mm512_dpbusd_epi32(acc, c[v], _mm512_loadu_si512((const void *)(a + 64 * v)));
    return acc;
}

/* Lane i of the result is the sum of the lanes of a[i]. */
INL T5 __m512i reduce16(const __m512i *a) {
    __m512i p[8], q[4], r[2];
    for (int i = 0; i < 8; i++)
        p[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_epi32(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 4; i++)
        q[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(p[2 * i], p[2 * i + 1]), _mm512_unpackhi_epi64(p[2 * i], p[2 * i + 1]));
    /* q[j]: each 128-bit lane holds partial sums of a[4j..4j+3]. */
    for (int i = 0; i < 2; i++)
        r[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(q[2 * i], q[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                _mm512_shuffle_i32x4(q[2 * i], q[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(r[0], r[1], _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(r[0], r[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* The block scales (f16 at offset off) of 16 rows, lane r: built in
 * registers (a wide load of narrow stores would stall forwarding). */
INL T5 __m512 scales16(const uint8_t *const *rp, int64_t off) {
    __m128i lo = _mm_setr_epi16((short)load16(rp[0] + off), (short)load16(rp[1] + off), (short)load16(rp[2] + off),
                                (short)load16(rp[3] + off), (short)load16(rp[4] + off), (short)load16(rp[5] + off),
                                (short)load16(rp[6] + off), (short)load16(rp[7] + off));
    __m128i hi = _mm_setr_epi16((short)load16(rp[8] + off), (short)load16(rp[9] + off), (short)load16(rp[10] + off),
                                (short)load16(rp[11] + off), (short)load16(rp[12] + off), (short)load16(rp[13] + off),
                                (short)load16(rp[14] + off), (short)load16(rp[15] + off));
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}

/* The block scales of RP5 rows in lanes r*TP5+t. */
INL T5 __m512 scales_tile5(const uint8_t *const *rp, int64_t off) {
    __m128 d = _mm_cvtph_ps(_mm_setr_epi16((short)load16(rp[0] + off), (short)load16(rp[1] + off),
                                           (short)load16(rp[2] + off), (short)load16(rp[3] + off), 0, 0, 0, 0));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                 _mm512_castps128_ps512(d));
}

INL int row_ones(const tern_geom *g, const uint8_t *row) {
    for (int64_t b = 0; b < g->nb; b++)
        if (load16(row + b * g->chunk_bytes + g->doff) != TERN_F16_ONE) return 0;
    return 1;
}

/* acc += float32(dot) * d, in block order, as the reference does. */
INL T5 void add_block(__m512 *facc, __m512i *itot, __m512i dots, __m512 d) {
    *facc = _mm512_add_ps(*facc, rounded(_mm512_mul_ps(_mm512_cvtepi32_ps(dots), d)));
    *itot = _mm512_add_epi32(*itot, dots);
}

/* The accumulators of 16 rows (lanes) for one token (decode). ones: the
 * rows whose block scales are all 1; all_ones: every row. */
INL T5 __m512 decode_rows5(int type, const tern_geom *g, const uint8_t *const *rp, int64_t pf, const int8_t *act,
                           const int32_t *qs, int all_ones, __mmask16 ones) {
    const int vpc = vpc5(type), cb = chunk5(type);
    const int64_t last = g->half_last ? g->nchunks - 1 : -1;
    __m512i code[5], acc[RD5];
    if (all_ones) {
        for (int r = 0; r < RD5; r++) acc[r] = _mm512_setzero_si512();
        for (int64_t c = 0; c < g->nchunks; c++) {
            const int8_t *a = act + c * vpc * 64;
            for (int r = 0; r < RD5; r++) {
                _mm_prefetch((const char *)(rp[r] + c * cb + pf), _MM_HINT_T0);
                unpack5(type, rp[r] + c * cb, code, c == last);
                acc[r] = dot5(acc[r], code, a, vpc);
            }
        }
        return _mm512_cvtepi32_ps(_mm512_sub_epi32(reduce16(acc), _mm512_set1_epi32(qs[g->nb])));
    }
    __m512 facc = _mm512_setzero_ps();
    __m512i itot = _mm512_setzero_si512();
    for (int64_t c = 0; c < g->nchunks; c++) {
        const int8_t *a = act + c * vpc * 64;
        for (int r = 0; r < RD5; r++) {
            _mm_prefetch((const char *)(rp[r] + c * cb + pf), _MM_HINT_T0);
            unpack5(type, rp[r] + c * cb, code, 0);
            acc[r] = dot5(_mm512_setzero_si512(), code, a, vpc);
        }
        add_block(&facc, &itot, _mm512_sub_epi32(reduce16(acc), _mm512_set1_epi32(qs[c])),
                  scales16(rp, c * cb + g->doff));
    }
    return _mm512_mask_blend_ps(ones, facc, _mm512_cvtepi32_ps(itot));
}

/* Unpacks RP5 rows into cbuf (stride bytes per row, arranged order). */
INL T5 void unpack_rows5(int type, const tern_geom *g, const uint8_t *const *rp, int8_t *cbuf) {
    const int vpc = vpc5(type), cb = chunk5(type);
    const int64_t last = g->half_last ? g->nchunks - 1 : -1;
    __m512i code[5];
    for (int r = 0; r < RP5; r++)
        for (int64_t c = 0; c < g->nchunks; c++) {
            unpack5(type, rp[r] + c * cb, code, c == last);
            __m512i *dst = (__m512i *)(cbuf + r * g->stride + c * vpc * 64);
            for (int v = 0; v < vpc; v++) _mm512_store_si512(dst + v, code[v]);
        }
}

/* One chunk for RP5 rows x TP5 tokens (lane r*TP5+t), added into acc. */
INL T5 void chunk_tile5(int vpc, const int8_t *cbuf, int64_t stride, const int8_t *const *at, int64_t off,
                        __m512i *acc) {
    for (int v = 0; v < vpc; v++) {
        __m512i a[TP5];
        for (int t = 0; t < TP5; t++) a[t] = _mm512_load_si512((const void *)(at[t] + off + 64 * v));
        for (int r = 0; r < RP5; r++) {
            __m512i cv = _mm512_load_si512((const void *)(cbuf + r * stride + off + 64 * v));
            for (int t = 0; t < TP5; t++) acc[r * TP5 + t] = _mm512_dpbusd_epi32(acc[r * TP5 + t], cv, a[t]);
        }
    }
}

/* Entry i of each token's sums, in lanes r*TP5+t. */
INL T5 __m512i token_lanes(const int32_t *const *qs, int64_t i) {
    return _mm512_set_epi32(qs[3][i], qs[2][i], qs[1][i], qs[0][i], qs[3][i], qs[2][i], qs[1][i], qs[0][i], qs[3][i],
                            qs[2][i], qs[1][i], qs[0][i], qs[3][i], qs[2][i], qs[1][i], qs[0][i]);
}

/* The accumulators of RP5 rows x TP5 tokens (lane r*TP5+t) from the codes
 * unpacked in cbuf; rp: the rows (for their block scales); at[t], qs[t]:
 * the arranged activations and sums of token t; ones: the rows whose block
 * scales are all 1; all_ones: every row. */
INL T5 __m512 prefill_tile5(int type, const tern_geom *g, const uint8_t *const *rp, const int8_t *cbuf,
                            const int8_t *const *at, const int32_t *const *qs, int all_ones, __mmask16 ones) {
    const int vpc = vpc5(type), cb = chunk5(type);
    __m512i acc[RP5 * TP5];
    if (all_ones) {
        for (int i = 0; i < RP5 * TP5; i++) acc[i] = _mm512_setzero_si512();
        for (int64_t c = 0; c < g->nchunks; c++) chunk_tile5(vpc, cbuf, g->stride, at, c * vpc * 64, acc);
        return _mm512_cvtepi32_ps(_mm512_sub_epi32(reduce16(acc), token_lanes(qs, g->nb)));
    }
    __m512 facc = _mm512_setzero_ps();
    __m512i itot = _mm512_setzero_si512();
    for (int64_t c = 0; c < g->nchunks; c++) {
        for (int i = 0; i < RP5 * TP5; i++) acc[i] = _mm512_setzero_si512();
        chunk_tile5(vpc, cbuf, g->stride, at, c * vpc * 64, acc);
        add_block(&facc, &itot, _mm512_sub_epi32(reduce16(acc), token_lanes(qs, c)), scales_tile5(rp, c * cb + g->doff));
    }
    return _mm512_mask_blend_ps(ones, facc, _mm512_cvtepi32_ps(itot));
}

INL T5 void matmul5(int type, const uint8_t *w, int64_t row_bytes, int64_t cols, int64_t rows, const int8_t *q,
                    const float *s, int64_t n, float scale, float *out, int64_t lo, int64_t hi, uint8_t *scratch) {
    tern_geom g;
    tern_geometry(&g, 1, type, cols, n);
    int8_t *act = (int8_t *)scratch, *cbuf = (int8_t *)(scratch + g.off_codes);
    int32_t *qsum = (int32_t *)(scratch + g.off_qsum);
    float *invs = (float *)(scratch + g.off_inv);
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int64_t t0 = 0; t0 < n; t0 += g.tb) {
        int64_t nt = n - t0 < g.tb ? n - t0 : g.tb;
        tern_prep(&g, q + t0 * cols, s + t0, cols, nt, act, qsum, invs);
        if (n == 1) {
            const __m512 inv = _mm512_set1_ps(invs[0]);
            for (int64_t r0 = lo; r0 < hi; r0 += RD5) {
                int64_t rr = hi - r0 < RD5 ? hi - r0 : RD5;
                const uint8_t *rp[RD5];
                __mmask16 ones = 0;
                for (int r = 0; r < RD5; r++) {
                    rp[r] = w + (r0 + (r < rr ? r : 0)) * row_bytes;
                    ones |= (__mmask16)(row_ones(&g, rp[r]) << r);
                }
                __m512 f = decode_rows5(type, &g, rp, RD5 * row_bytes, act, qsum, ones == 0xFFFF, ones);
                f = _mm512_mul_ps(_mm512_mul_ps(f, inv), vscale);
                _mm512_mask_storeu_ps(out + r0, (__mmask16)((1u << rr) - 1), f);
            }
            continue;
        }
        for (int64_t r0 = lo; r0 < hi; r0 += RP5) {
            int64_t rr = hi - r0 < RP5 ? hi - r0 : RP5;
            const uint8_t *rp[RP5];
            __mmask16 ones = 0;
            for (int r = 0; r < RP5; r++) {
                rp[r] = w + (r0 + (r < rr ? r : 0)) * row_bytes;
                if (row_ones(&g, rp[r])) ones |= (__mmask16)(0xF << (TP5 * r));
            }
            unpack_rows5(type, &g, rp, cbuf);
            for (int64_t tt = 0; tt < nt; tt += TP5) {
                int64_t tn = nt - tt < TP5 ? nt - tt : TP5;
                const int8_t *at[TP5];
                const int32_t *qs[TP5];
                float inv[RP5 * TP5];
                for (int t = 0; t < TP5; t++) {
                    int64_t u = tt + (t < tn ? t : 0);
                    at[t] = act + u * g.stride;
                    qs[t] = qsum + u * (g.nb + 1);
                }
                for (int i = 0; i < RP5 * TP5; i++) inv[i] = invs[tt + (i % TP5 < tn ? i % TP5 : 0)];
                __m512 f = prefill_tile5(type, &g, rp, cbuf, at, qs, ones == 0xFFFF, ones);
                f = _mm512_mul_ps(_mm512_mul_ps(f, _mm512_loadu_ps(inv)), vscale);
                float res[RP5 * TP5];
                _mm512_storeu_ps(res, f);
                for (int r = 0; r < rr; r++)
                    for (int t = 0; t < tn; t++) out[(t0 + tt + t) * rows + r0 + r] = res[r * TP5 + t];
            }
        }
    }
}

T5 void bitnet_tern_matmul_avx512(const uint8_t *w, int64_t row_bytes, int type, int64_t cols, int64_t rows,
                                  const int8_t *q, const float *s, int64_t n, float scale, float *out, int64_t lo,
                                  int64_t hi, uint8_t *scratch) {
    switch (type) {
    case BITNET_TERN_I2S:
        matmul5(BITNET_TERN_I2S, w, row_bytes, cols, rows, q, s, n, scale, out, lo, hi, scratch);
        break;
    case BITNET_TERN_TQ2:
        matmul5(BITNET_TERN_TQ2, w, row_bytes, cols, rows, q, s, n, scale, out, lo, hi, scratch);
        break;
    default:
        matmul5(BITNET_TERN_TQ1, w, row_bytes, cols, rows, q, s, n, scale, out, lo, hi, scratch);
        break;
    }
}
