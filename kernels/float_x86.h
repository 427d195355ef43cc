/* Helpers shared by float_avx2.c and float_avx512.c: 256-bit (AVX2) code
 * that the AVX-512 functions inline too (their target is a superset). */
#ifndef BITNET_FLOAT_X86_H
#define BITNET_FLOAT_X86_H

/* No contraction of a*b+c into fused multiply-adds in the kernels that
 * promise Reference's bits (cgo does not accept -ffp-contract=off as a
 * flag). Fused multiply-adds are written as intrinsics where wanted. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#else
#pragma GCC optimize("fp-contract=off")
#endif

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define BITNET_TGT_AVX2 __attribute__((target("avx2,fma,f16c")))
#define BITNET_INL_AVX2 static inline __attribute__((always_inline)) BITNET_TGT_AVX2

/* fx_hsum8 adds the 8 lanes of v. */
BITNET_INL_AVX2 float fx_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* fx_prefetch asks for bytes [lo, hi) of p in L2, a line at a time (over
 * consecutive ranges every line is fetched). The one-token MatMul tiles of
 * the 16-bit and block types prefetch the rows of the next tile, one
 * contiguous region, in step with their progress through their own rows:
 * a single sequential stream runs a tile ahead and keeps many more memory
 * requests in flight than the hardware prefetchers do for the tile's 8
 * interleaved row streams (2B-4T head on Zen 5, one thread: Q8_0 10 -> 32
 * GB/s, Q6_K 8.5 -> 17, F16 23 -> 27). F32 rows, a whole line per row and
 * step, stream well without it. */
BITNET_INL_AVX2 void fx_prefetch(const uint8_t *p, int64_t lo, int64_t hi) {
    if (!p) return;
    for (int64_t o = lo; o < hi; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T1);
}

/* fx_half reads a little-endian IEEE half at p (any alignment). */
BITNET_INL_AVX2 float fx_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* fx_q6_codes decodes half h (128 weights) of the Q6_K block blk into the
 * signed codes (q - 32) of its weights, 32 per vector in weight order.
 * Layout: weight 32n + l (n < 4, l < 32) of the half takes its low nibble
 * from ql[l] (n = 0 low, 2 high) or ql[32 + l] (n = 1 low, 3 high) and its
 * high bits from bits 2n, 2n+1 of qh[l]. */
BITNET_INL_AVX2 void fx_q6_codes(const uint8_t *blk, int h, __m256i q[4]) {
    const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
    __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
    __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    __m256i hb = _mm256_loadu_si256((const __m256i *)qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m30));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
    for (int n = 0; n < 4; n++) q[n] = _mm256_sub_epi8(q[n], off);
}

/* fx_q6_scales returns the 8 sub-block scales d * sc[k] of half h of a
 * Q6_K block (Reference's float32 products). */
BITNET_INL_AVX2 __m256 fx_q6_scales(const uint8_t *blk, int h) {
    __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 192 + 8 * h))));
    return _mm256_mul_ps(_mm256_set1_ps(fx_half(blk + 208)), sc);
}

/* fx_lane8 broadcasts lane k of v. */
BITNET_INL_AVX2 __m256 fx_lane8(__m256 v, int k) { return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(k)); }

/* fx_transpose8 transposes the 8x8 tile r[0..7] in place: afterwards r[c]
 * holds column c (lane i = old r[i][c]). Pure data movement. */
BITNET_INL_AVX2 void fx_transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* fx_kt_block writes the keys of positions k_0..k_{rows-1} (row p at k +
 * p*stride, rows <= 8) transposed into kt: kt[i*ld + r] = k_r[i] for i < hd,
 * r < 8, rows past `rows` zero (k is not read for them). ld >= 8. */
BITNET_INL_AVX2 void fx_kt_block(float *kt, int64_t ld, const float *k, int64_t stride, int rows, int64_t hd) {
    int64_t i = 0;
    for (; i + 8 <= hd; i += 8) {
        __m256 r[8];
        for (int j = 0; j < 8; j++) r[j] = j < rows ? _mm256_loadu_ps(k + j * stride + i) : _mm256_setzero_ps();
        fx_transpose8(r);
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(kt + (i + j) * ld, r[j]);
    }
    for (; i < hd; i++)
        for (int j = 0; j < 8; j++) kt[i * ld + j] = j < rows ? k[j * stride + i] : 0.0f;
}

/* fx_dot_seq is Reference's dot product: a float32 sum of a[i]*b[i] (two
 * roundings) in the order of fx_scores' comment. */
static inline BITNET_TGT_AVX2 float fx_dot_seq(const float *a, const float *b, int64_t hd, int64_t half) {
    float s = 0;
    int64_t i = 0;
    if (half > 0) {
        for (; i < half; i++) {
            s += a[i] * b[i];
            s += a[i + half] * b[i + half];
        }
        i = 2 * half;
    }
    for (; i < hd; i++) s += a[i] * b[i];
    return s;
}

/* fx_scores16 runs the dots of one block of 16 positions whose keys are
 * transposed at kt (ld 16), lane r following position r's sum in
 * Reference's order (see fx_dot_seq), and writes the 16 scores to res. */
BITNET_INL_AVX2 void fx_scores16(const float *kt, const float *q, int64_t hd, int64_t half, float scale, float *res) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
#define FX_STEP(i)                                                                                                     \
    do {                                                                                                               \
        __m256 qb = _mm256_set1_ps(q[i]);                                                                              \
        a0 = _mm256_add_ps(a0, _mm256_mul_ps(qb, _mm256_loadu_ps(kt + (i) * 16)));                                      \
        a1 = _mm256_add_ps(a1, _mm256_mul_ps(qb, _mm256_loadu_ps(kt + (i) * 16 + 8)));                                  \
    } while (0)
    int64_t i = 0;
    if (half > 0) {
        for (; i < half; i++) {
            FX_STEP(i);
            FX_STEP(i + half);
        }
        i = 2 * half;
    }
    for (; i < hd; i++) FX_STEP(i);
#undef FX_STEP
    __m256 sv = _mm256_set1_ps(scale);
    _mm256_storeu_ps(res, _mm256_mul_ps(a0, sv));
    _mm256_storeu_ps(res + 8, _mm256_mul_ps(a1, sv));
}

/* FX_REST_MAX_HD bounds the head size of fx_scores_rest's stack block. */
#define FX_REST_MAX_HD 512 /* 32 KiB of stack */

/* fx_scores_rest computes the scores of npos positions without a cache of
 * transposed keys: 16-position blocks transposed on the stack (the last
 * one zero-padded), or one sequential dot per position for very large
 * heads. */
static BITNET_TGT_AVX2 void fx_scores_rest(float *scores, const float *q, const float *k, int64_t kv_stride,
                                           int64_t npos, int64_t hd, int64_t half, float scale) {
    if (hd > FX_REST_MAX_HD) {
        for (int64_t p = 0; p < npos; p++) scores[p] = fx_dot_seq(q, k + p * kv_stride, hd, half) * scale;
        return;
    }
    float kt[FX_REST_MAX_HD * 16], res[16];
    for (int64_t p = 0; p < npos; p += 16) {
        int64_t rows = npos - p < 16 ? npos - p : 16;
        int r0 = rows < 8 ? (int)rows : 8, r1 = (int)rows - r0;
        fx_kt_block(kt, 16, k + p * kv_stride, kv_stride, r0, hd);
        fx_kt_block(kt + 8, 16, r1 > 0 ? k + (p + 8) * kv_stride : k, kv_stride, r1, hd);
        fx_scores16(kt, q, hd, half, scale, res);
        memcpy(scores + p, res, (size_t)rows * sizeof(float));
    }
}

#endif
