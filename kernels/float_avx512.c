//go:build amd64 && cgo

/* AVX-512 (F, BW, VL) kernels of the float32-activation operations (see
 * float_simd.h). Only the features the Go side checks before choosing this
 * level are enabled: no DQ, no BF16 dot products (they would round the
 * activations to bfloat16). */

#include "float_simd.h"
#include "float_x86.h"

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline)) TGT

/* tail16 has the lanes below rem (0 < rem < 16) on. */
INL __mmask16 tail16(int64_t rem) { return (__mmask16)((1u << rem) - 1); }

INL float hsum16(__m512 v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return fx_hsum8(_mm256_add_ps(lo, hi));
}

/* ---- float32 rows times float32 tokens ---------------------------------- */

/* Every MatMul output is computed one way, whatever n, the weight type or
 * the rows around it: one 16-lane FMA accumulator per (row, token), the
 * columns in order 16 at a time (a zero-padded masked step at a ragged
 * end), weights dequantized to Reference's float32 values, a horizontal
 * sum, then * scale. So a token's outputs do not depend on its batch or on
 * the split over threads. */

/* f32_tile: out[t*ostride + r] = scale * dot(wr[r], x + t*cols) for r < R,
 * t < T, with FMA into one 16-lane accumulator per (row, token). */
INL void f32_tile(const int R, const int T, const float *const *wr, const float *x, int64_t cols, float *out,
                  int64_t ostride, float scale) {
    __m512 acc[8][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
        __m512 xv[4];
        for (int t = 0; t < T; t++) xv[t] = _mm512_loadu_ps(x + t * cols + j);
        for (int r = 0; r < R; r++) {
            __m512 wv = _mm512_loadu_ps(wr[r] + j);
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    if (j < cols) {
        __mmask16 m = tail16(cols - j);
        __m512 xv[4];
        for (int t = 0; t < T; t++) xv[t] = _mm512_maskz_loadu_ps(m, x + t * cols + j);
        for (int r = 0; r < R; r++) {
            __m512 wv = _mm512_maskz_loadu_ps(m, wr[r] + j);
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * ostride + r] = hsum16(acc[r][t]) * scale;
}

/* f32_rows multiplies R rows by all n tokens, four tokens at a time. */
INL void f32_rows(const int R, const float *const *wr, const float *x, int64_t n, int64_t cols, float *out,
                  int64_t rows, float scale) {
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) f32_tile(R, 4, wr, x + t * cols, cols, out + t * rows, rows, scale);
    for (; t < n; t++) f32_tile(R, 1, wr, x + t * cols, cols, out + t * rows, rows, scale);
}

/* f32_block multiplies the float32 rows wr[0..nr) (nr <= 8) by n tokens. */
static TGT void f32_block(const float *const *wr, int nr, const float *x, int64_t n, int64_t cols, float *out,
                          int64_t rows, float scale) {
    int r = 0;
    if (n == 1 && nr == 8) {
        f32_tile(8, 1, wr, x, cols, out, rows, scale);
        return;
    }
    for (; r + 4 <= nr; r += 4) f32_rows(4, wr + r, x, n, cols, out + r, rows, scale);
    for (; r < nr; r++) f32_rows(1, wr + r, x, n, cols, out + r, rows, scale);
}

/* ---- dequantization (exactly Reference's values) ------------------------ */

INL __m512 ld_f16(const uint8_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }

INL __m512 bf16_to_f32(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

INL __m512 ld_bf16(const uint8_t *p) { return bf16_to_f32(_mm256_loadu_si256((const __m256i *)p)); }

/* ld_16bit_tail loads the last rem (< 16) 16-bit values at p, zero-padded. */
INL __m256i ld_16bit_tail(const uint8_t *p, int64_t rem) { return _mm256_maskz_loadu_epi16(tail16(rem), p); }

/* i8x16 converts 16 int8 to float. */
INL __m512 i8x16(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }

INL __m512 ld_i8(const uint8_t *p) { return i8x16(_mm_loadu_si128((const __m128i *)p)); }

/* q6x16 converts codes 16g..16g+15 of v to float (g < 2). */
INL __m512 q6x16(__m256i v, int g) { return i8x16(g ? _mm256_extracti128_si256(v, 1) : _mm256_castsi256_si128(v)); }

/* lane16 broadcasts lane k (< 8) of v to 16 lanes. */
INL __m512 lane16(__m256 v, int k) { return _mm512_permutexvar_ps(_mm512_set1_epi32(k), _mm512_castps256_ps512(v)); }

static TGT void dequant_row(int type, const uint8_t *w, int64_t cols, float *dst) {
    int64_t j = 0;
    switch (type) {
    case BITNET_F_F16:
        for (; j + 16 <= cols; j += 16) _mm512_storeu_ps(dst + j, ld_f16(w + 2 * j));
        if (j < cols) _mm512_mask_storeu_ps(dst + j, tail16(cols - j), _mm512_cvtph_ps(ld_16bit_tail(w + 2 * j, cols - j)));
        break;
    case BITNET_F_BF16:
        for (; j + 16 <= cols; j += 16) _mm512_storeu_ps(dst + j, ld_bf16(w + 2 * j));
        if (j < cols) _mm512_mask_storeu_ps(dst + j, tail16(cols - j), bf16_to_f32(ld_16bit_tail(w + 2 * j, cols - j)));
        break;
    case BITNET_F_Q8_0:
        for (int64_t b = 0; b < cols / 32; b++) {
            const uint8_t *blk = w + 34 * b;
            __m512 d = _mm512_set1_ps(fx_half(blk));
            _mm512_storeu_ps(dst + 32 * b, _mm512_mul_ps(ld_i8(blk + 2), d));
            _mm512_storeu_ps(dst + 32 * b + 16, _mm512_mul_ps(ld_i8(blk + 18), d));
        }
        break;
    case BITNET_F_Q6_K:
        for (int64_t b = 0; b < cols / 256; b++) {
            for (int h = 0; h < 2; h++) {
                __m256i q[4];
                fx_q6_codes(w + 210 * b, h, q);
                __m256 sf = fx_q6_scales(w + 210 * b, h);
                float *y = dst + 256 * b + 128 * h;
                for (int n = 0; n < 4; n++)
                    for (int g = 0; g < 2; g++)
                        _mm512_storeu_ps(y + 32 * n + 16 * g, _mm512_mul_ps(lane16(sf, 2 * n + g), q6x16(q[n], g)));
            }
        }
        break;
    }
}

/* ---- one-token tiles of the other types ---------------------------------- */

/* These follow f32_tile's scheme exactly (one FMA chain per row, 16
 * columns a step in order, the same dequantized values), decoding the
 * weights in registers instead of into scratch. */

/* f16_tile: R rows of F16 (bf == 0) or BF16 (bf == 1) weights, one token. */
INL void f16_tile(const int R, const int bf, const uint8_t *const *wr, const float *x, int64_t cols, float *out,
                  float scale, const uint8_t *pf) {
    __m512 acc[8];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
        fx_prefetch(pf, 2 * R * j, 2 * R * (j + 16));
        __m512 xv = _mm512_loadu_ps(x + j);
        for (int r = 0; r < R; r++)
            acc[r] = _mm512_fmadd_ps(bf ? ld_bf16(wr[r] + 2 * j) : ld_f16(wr[r] + 2 * j), xv, acc[r]);
    }
    if (j < cols) {
        __m512 xv = _mm512_maskz_loadu_ps(tail16(cols - j), x + j);
        for (int r = 0; r < R; r++) {
            __m256i h = ld_16bit_tail(wr[r] + 2 * j, cols - j);
            acc[r] = _mm512_fmadd_ps(bf ? bf16_to_f32(h) : _mm512_cvtph_ps(h), xv, acc[r]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = hsum16(acc[r]) * scale;
}

/* q8_tile: R rows of Q8_0 weights (nb blocks), one token. */
INL void q8_tile(const int R, const uint8_t *const *wr, const float *x, int64_t nb, float *out, float scale,
                const uint8_t *pf) {
    __m512 acc[8];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        fx_prefetch(pf, 34 * R * b, 34 * R * (b + 1));
        __m512 x0 = _mm512_loadu_ps(x + 32 * b), x1 = _mm512_loadu_ps(x + 32 * b + 16);
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = wr[r] + 34 * b;
            __m512 d = _mm512_set1_ps(fx_half(blk));
            acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(ld_i8(blk + 2), d), x0, acc[r]);
            acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(ld_i8(blk + 18), d), x1, acc[r]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = hsum16(acc[r]) * scale;
}

/* q6_tile: R rows of Q6_K weights (nb blocks), one token. */
INL void q6_tile(const int R, const uint8_t *const *wr, const float *x, int64_t nb, float *out, float scale,
                const uint8_t *pf) {
    __m512 acc[8];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++)
        for (int h = 0; h < 2; h++) {
            const float *xh = x + 256 * b + 128 * h;
            fx_prefetch(pf, R * (210 * b + 105 * h), R * (210 * b + 105 * (h + 1)));
            for (int r = 0; r < R; r++) {
                __m256i q[4];
                fx_q6_codes(wr[r] + 210 * b, h, q);
                __m256 sf = fx_q6_scales(wr[r] + 210 * b, h);
                for (int n = 0; n < 4; n++)
                    for (int g = 0; g < 2; g++)
                        acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(lane16(sf, 2 * n + g), q6x16(q[n], g)),
                                                 _mm512_loadu_ps(xh + 32 * n + 16 * g), acc[r]);
            }
        }
    for (int r = 0; r < R; r++) out[r] = hsum16(acc[r]) * scale;
}

/* quant_tile runs the one-token tile of type for R rows, prefetching the R
 * rows at pf (NULL: none). */
INL void quant_tile(const int R, int type, const uint8_t *const *wr, const float *x, int64_t cols, float *out,
                    float scale, const uint8_t *pf) {
    switch (type) {
    case BITNET_F_F16: f16_tile(R, 0, wr, x, cols, out, scale, pf); break;
    case BITNET_F_BF16: f16_tile(R, 1, wr, x, cols, out, scale, pf); break;
    case BITNET_F_Q8_0: q8_tile(R, wr, x, cols / 32, out, scale, pf); break;
    case BITNET_F_Q6_K: q6_tile(R, wr, x, cols / 256, out, scale, pf); break;
    }
}

/* ---- MatMul ------------------------------------------------------------- */

TGT void bitnet_f_matmul_avx512(int type, const uint8_t *w, int64_t row_bytes, int64_t cols, int64_t rows,
                                int64_t lo, int64_t hi, const float *x, int64_t n, float *out, float scale,
                                float *scratch) {
    const float *wr[8];
    if (type == BITNET_F_F32) {
        for (int64_t r = lo; r < hi; r += 8) {
            int nr = hi - r < 8 ? (int)(hi - r) : 8;
            for (int i = 0; i < nr; i++) wr[i] = (const float *)(w + (r + i) * row_bytes);
            f32_block(wr, nr, x, n, cols, out + r, rows, scale);
        }
        return;
    }
    if (n == 1) {
        const uint8_t *qr[8];
        int64_t r = lo;
        for (; r + 8 <= hi; r += 8) {
            for (int i = 0; i < 8; i++) qr[i] = w + (r + i) * row_bytes;
            quant_tile(8, type, qr, x, cols, out + r, scale, r + 16 <= rows ? w + (r + 8) * row_bytes : NULL);
        }
        for (; r < hi; r++) {
            qr[0] = w + r * row_bytes;
            quant_tile(1, type, qr, x, cols, out + r, scale, NULL);
        }
        return;
    }
    for (int64_t r = lo; r < hi; r += BITNET_F_DEQ_ROWS) {
        int nr = hi - r < BITNET_F_DEQ_ROWS ? (int)(hi - r) : BITNET_F_DEQ_ROWS;
        for (int i = 0; i < nr; i++) {
            dequant_row(type, w + (r + i) * row_bytes, cols, scratch + i * cols);
            wr[i] = scratch + i * cols;
        }
        f32_block(wr, nr, x, n, cols, out + r, rows, scale);
    }
}

/* ---- RMSNorm ------------------------------------------------------------ */

/* The sums of squares are sequential either way; the AVX2 kernel's
 * 8-lane scaling pass is not the bottleneck. */
void bitnet_f_rmsnorm_avx512(float *out, const float *x, const float *w, int64_t n, int64_t dim, float eps) {
    bitnet_f_rmsnorm_avx2(out, x, w, n, dim, eps);
}

/* ---- attention ---------------------------------------------------------- */

/* scores32 runs the dots of one block of 32 positions whose keys are
 * transposed at kt (ld 32), lane r following position r's sum in
 * Reference's order, and writes the 32 scores to res. */
INL void scores32(const float *kt, const float *q, int64_t hd, int64_t half, float scale, float *res) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
#define STEP(i)                                                                                                        \
    do {                                                                                                               \
        __m512 qb = _mm512_set1_ps(q[i]);                                                                              \
        a0 = _mm512_add_ps(a0, _mm512_mul_ps(qb, _mm512_loadu_ps(kt + (i) * 32)));                                      \
        a1 = _mm512_add_ps(a1, _mm512_mul_ps(qb, _mm512_loadu_ps(kt + (i) * 32 + 16)));                                 \
    } while (0)
    int64_t i = 0;
    if (half > 0) {
        for (; i < half; i++) {
            STEP(i);
            STEP(i + half);
        }
        i = 2 * half;
    }
    for (; i < hd; i++) STEP(i);
#undef STEP
    __m512 sv = _mm512_set1_ps(scale);
    _mm512_storeu_ps(res, _mm512_mul_ps(a0, sv));
    _mm512_storeu_ps(res + 16, _mm512_mul_ps(a1, sv));
}

/* As the AVX2 kernel, with blocks of 32 positions (16 per lane group);
 * the last partial block goes to the 16-position code. */
TGT int64_t bitnet_f_scores_avx512(float *scores, const float *q, const float *k, int64_t kv_stride, int64_t npos,
                                   int64_t hd, int64_t half, float scale, float *kt, int64_t kt_have) {
    int64_t nb = npos / 32;
    for (int64_t b = kt_have; b < nb; b++)
        for (int g = 0; g < 4; g++)
            fx_kt_block(kt + b * 32 * hd + 8 * g, 32, k + (32 * b + 8 * g) * kv_stride, kv_stride, 8, hd);
    for (int64_t b = 0; b < nb; b++) scores32(kt + b * 32 * hd, q, hd, half, scale, scores + 32 * b);
    if (npos > 32 * nb)
        fx_scores_rest(scores + 32 * nb, q, k + 32 * nb * kv_stride, kv_stride, npos - 32 * nb, hd, half, scale);
    return nb > kt_have ? nb : kt_have;
}

TGT void bitnet_f_values_avx512(float *o, const float *e, float sum, const float *v, int64_t kv_stride,
                                int64_t npos, int64_t hd) {
    int64_t i = 0;
    for (; i + 128 <= hd; i += 128) {
        __m512 acc[8];
        for (int c = 0; c < 8; c++) acc[c] = _mm512_setzero_ps();
        for (int64_t p = 0; p < npos; p++) {
            __m512 wb = _mm512_set1_ps(e[p] / sum);
            const float *vp = v + p * kv_stride + i;
            for (int c = 0; c < 8; c++) acc[c] = _mm512_add_ps(acc[c], _mm512_mul_ps(wb, _mm512_loadu_ps(vp + 16 * c)));
        }
        for (int c = 0; c < 8; c++) _mm512_storeu_ps(o + i + 16 * c, acc[c]);
    }
    for (; i + 16 <= hd; i += 16) {
        __m512 acc = _mm512_setzero_ps();
        for (int64_t p = 0; p < npos; p++)
            acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_set1_ps(e[p] / sum), _mm512_loadu_ps(v + p * kv_stride + i)));
        _mm512_storeu_ps(o + i, acc);
    }
    if (i < hd) bitnet_f_values_avx2(o + i, e, sum, v + i, kv_stride, npos, hd - i);
}
