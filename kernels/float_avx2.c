//go:build amd64 && cgo

/* AVX2 + FMA + F16C kernels of the float32-activation operations (see
 * float_simd.h). */

#include "float_simd.h"
#include "float_x86.h"

#define TGT BITNET_TGT_AVX2
#define INL BITNET_INL_AVX2

static const int32_t mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* tail_mask has the lanes below rem (0 < rem < 8) on. */
INL __m256i tail_mask(int64_t rem) { return _mm256_loadu_si256((const __m256i *)(mask_tab + 8 - rem)); }

/* ---- float32 rows times float32 tokens ---------------------------------- */

/* Every MatMul output is computed one way, whatever n, the weight type or
 * the rows around it: one 8-lane FMA accumulator per (row, token), the
 * columns in order 8 at a time (a zero-padded masked step at a ragged
 * end), weights dequantized to Reference's float32 values, a horizontal
 * sum, then * scale. So a token's outputs do not depend on its batch or on
 * the split over threads. */

/* f32_tile: out[t*ostride + r] = scale * dot(wr[r], x + t*cols) for r < R,
 * t < T, with FMA into one 8-lane accumulator per (row, token). */
INL void f32_tile(const int R, const int T, const float *const *wr, const float *x, int64_t cols, float *out,
                  int64_t ostride, float scale) {
    __m256 acc[8][2];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
        __m256 xv[2];
        for (int t = 0; t < T; t++) xv[t] = _mm256_loadu_ps(x + t * cols + j);
        for (int r = 0; r < R; r++) {
            __m256 wv = _mm256_loadu_ps(wr[r] + j);
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    if (j < cols) {
        __m256i m = tail_mask(cols - j);
        __m256 xv[2];
        for (int t = 0; t < T; t++) xv[t] = _mm256_maskload_ps(x + t * cols + j, m);
        for (int r = 0; r < R; r++) {
            __m256 wv = _mm256_maskload_ps(wr[r] + j, m);
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * ostride + r] = fx_hsum8(acc[r][t]) * scale;
}

/* f32_rows multiplies R rows by all n tokens. */
INL void f32_rows(const int R, const float *const *wr, const float *x, int64_t n, int64_t cols, float *out,
                  int64_t rows, float scale) {
    int64_t t = 0;
    for (; t + 2 <= n; t += 2) f32_tile(R, 2, wr, x + t * cols, cols, out + t * rows, rows, scale);
    if (t < n) f32_tile(R, 1, wr, x + t * cols, cols, out + t * rows, rows, scale);
}

/* f32_block multiplies the float32 rows wr[0..nr) (nr <= 8) by n tokens:
 * 8 rows at a time for one token (8 independent FMA chains), 4 rows by 2
 * tokens otherwise. */
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

INL __m256 ld_f16(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

INL __m256 ld_bf16(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

/* ld_i8 converts 8 int8 at p to float. */
INL __m256 ld_i8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

/* ld_16bit_tail loads the last rem (< 8) 16-bit values at p, zero-padded. */
INL __m128i ld_16bit_tail(const uint8_t *p, int64_t rem) {
    uint8_t buf[16] = {0};
    memcpy(buf, p, (size_t)rem * 2);
    return _mm_loadu_si128((const __m128i *)buf);
}

/* i8x8 converts bytes 8g..8g+7 of v to float (g < 4). */
INL __m256 i8x8(__m256i v, int g) {
    __m128i h = g < 2 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
    if (g & 1) h = _mm_srli_si128(h, 8);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(h));
}

/* dequant_row decodes a row of cols weights into dst (float32 rows are
 * not passed here). */
static TGT void dequant_row(int type, const uint8_t *w, int64_t cols, float *dst) {
    int64_t j = 0;
    switch (type) {
    case BITNET_F_F16:
    case BITNET_F_BF16:
        for (; j + 8 <= cols; j += 8)
            _mm256_storeu_ps(dst + j, type == BITNET_F_F16 ? ld_f16(w + 2 * j) : ld_bf16(w + 2 * j));
        if (j < cols) {
            __m128i h = ld_16bit_tail(w + 2 * j, cols - j);
            __m256 v = type == BITNET_F_F16 ? _mm256_cvtph_ps(h)
                                            : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
            _mm256_maskstore_ps(dst + j, tail_mask(cols - j), v);
        }
        break;
    case BITNET_F_Q8_0:
        for (int64_t b = 0; b < cols / 32; b++) {
            const uint8_t *blk = w + 34 * b;
            __m256 d = _mm256_set1_ps(fx_half(blk));
            for (int g = 0; g < 4; g++) _mm256_storeu_ps(dst + 32 * b + 8 * g, _mm256_mul_ps(ld_i8(blk + 2 + 8 * g), d));
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
                    for (int g = 0; g < 4; g++)
                        _mm256_storeu_ps(y + 32 * n + 8 * g, _mm256_mul_ps(fx_lane8(sf, 2 * n + g / 2), i8x8(q[n], g)));
            }
        }
        break;
    }
}

/* ---- one-token tiles of the other types ---------------------------------- */

/* These follow f32_tile's scheme exactly (one FMA chain per row, 8 columns
 * a step in order, the same dequantized values), decoding the weights in
 * registers instead of into scratch. */

/* f16_tile: R rows of F16 (bf == 0) or BF16 (bf == 1) weights, one token. */
INL void f16_tile(const int R, const int bf, const uint8_t *const *wr, const float *x, int64_t cols, float *out,
                  float scale, const uint8_t *pf) {
    __m256 acc[8];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
        fx_prefetch(pf, 2 * R * j, 2 * R * (j + 8));
        __m256 xv = _mm256_loadu_ps(x + j);
        for (int r = 0; r < R; r++)
            acc[r] = _mm256_fmadd_ps(bf ? ld_bf16(wr[r] + 2 * j) : ld_f16(wr[r] + 2 * j), xv, acc[r]);
    }
    if (j < cols) {
        __m256 xv = _mm256_maskload_ps(x + j, tail_mask(cols - j));
        for (int r = 0; r < R; r++) {
            __m128i h = ld_16bit_tail(wr[r] + 2 * j, cols - j);
            __m256 v = bf ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
            acc[r] = _mm256_fmadd_ps(v, xv, acc[r]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = fx_hsum8(acc[r]) * scale;
}

/* q8_tile: R rows of Q8_0 weights (nb blocks), one token. */
INL void q8_tile(const int R, const uint8_t *const *wr, const float *x, int64_t nb, float *out, float scale,
                const uint8_t *pf) {
    __m256 acc[8];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        fx_prefetch(pf, 34 * R * b, 34 * R * (b + 1));
        __m256 xv[4];
        for (int g = 0; g < 4; g++) xv[g] = _mm256_loadu_ps(x + 32 * b + 8 * g);
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = wr[r] + 34 * b;
            __m256 d = _mm256_set1_ps(fx_half(blk));
            for (int g = 0; g < 4; g++) acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(ld_i8(blk + 2 + 8 * g), d), xv[g], acc[r]);
        }
    }
    for (int r = 0; r < R; r++) out[r] = fx_hsum8(acc[r]) * scale;
}

/* q6_tile: R rows of Q6_K weights (nb blocks), one token. */
INL void q6_tile(const int R, const uint8_t *const *wr, const float *x, int64_t nb, float *out, float scale,
                const uint8_t *pf) {
    __m256 acc[8];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++)
        for (int h = 0; h < 2; h++) {
            const float *xh = x + 256 * b + 128 * h;
            fx_prefetch(pf, R * (210 * b + 105 * h), R * (210 * b + 105 * (h + 1)));
            for (int r = 0; r < R; r++) {
                __m256i q[4];
                fx_q6_codes(wr[r] + 210 * b, h, q);
                __m256 sf = fx_q6_scales(wr[r] + 210 * b, h);
                for (int n = 0; n < 4; n++)
                    for (int k = 0; k < 2; k++) {
                        __m256 s = fx_lane8(sf, 2 * n + k);
                        for (int g = 2 * k; g < 2 * k + 2; g++)
                            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(s, i8x8(q[n], g)),
                                                     _mm256_loadu_ps(xh + 32 * n + 8 * g), acc[r]);
                    }
            }
        }
    for (int r = 0; r < R; r++) out[r] = fx_hsum8(acc[r]) * scale;
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

TGT void bitnet_f_matmul_avx2(int type, const uint8_t *w, int64_t row_bytes, int64_t cols, int64_t rows, int64_t lo,
                              int64_t hi, const float *x, int64_t n, float *out, float scale, float *scratch) {
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

/* rms_inv is Reference's 1/sqrt(ss/dim + eps), rounded through float64. */
INL float rms_inv(float ss, int64_t dim, float eps) {
    ss /= (float)dim;
    ss += eps;
    double r = _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd((double)ss)));
    return (float)(1.0 / r);
}

/* rms_scale writes out = w * (inv * x), elementwise (exact in any width). */
INL void rms_scale(float *out, const float *x, const float *w, int64_t dim, float inv) {
    __m256 iv = _mm256_set1_ps(inv);
    int64_t j = 0;
    for (; j + 8 <= dim; j += 8)
        _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_loadu_ps(w + j), _mm256_mul_ps(iv, _mm256_loadu_ps(x + j))));
    for (; j < dim; j++) out[j] = w[j] * (inv * x[j]);
}

TGT void bitnet_f_rmsnorm_avx2(float *out, const float *x, const float *w, int64_t n, int64_t dim, float eps) {
    int64_t t = 0;
    /* Four rows at a time: four independent sequential sums. */
    for (; t + 4 <= n; t += 4) {
        const float *x0 = x + t * dim, *x1 = x0 + dim, *x2 = x1 + dim, *x3 = x2 + dim;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int64_t j = 0; j < dim; j++) {
            s0 += x0[j] * x0[j];
            s1 += x1[j] * x1[j];
            s2 += x2[j] * x2[j];
            s3 += x3[j] * x3[j];
        }
        float ss[4] = {s0, s1, s2, s3};
        for (int i = 0; i < 4; i++)
            rms_scale(out + (t + i) * dim, x + (t + i) * dim, w, dim, rms_inv(ss[i], dim, eps));
    }
    for (; t < n; t++) {
        const float *xr = x + t * dim;
        float s = 0;
        for (int64_t j = 0; j < dim; j++) s += xr[j] * xr[j];
        rms_scale(out + t * dim, xr, w, dim, rms_inv(s, dim, eps));
    }
}

/* ---- attention ---------------------------------------------------------- */

/* The scores run 16 positions at a time, 8 per lane group: the keys are
 * transposed so that lane r follows position r's dot in Reference's order.
 * Full blocks of 16 are transposed once into kt and reused by the caller
 * for every query head of the KV head. */
TGT int64_t bitnet_f_scores_avx2(float *scores, const float *q, const float *k, int64_t kv_stride, int64_t npos,
                                 int64_t hd, int64_t half, float scale, float *kt, int64_t kt_have) {
    int64_t nb = npos / 16;
    for (int64_t b = kt_have; b < nb; b++) {
        fx_kt_block(kt + b * 16 * hd, 16, k + 16 * b * kv_stride, kv_stride, 8, hd);
        fx_kt_block(kt + b * 16 * hd + 8, 16, k + (16 * b + 8) * kv_stride, kv_stride, 8, hd);
    }
    for (int64_t b = 0; b < nb; b++) fx_scores16(kt + b * 16 * hd, q, hd, half, scale, scores + 16 * b);
    if (npos > 16 * nb)
        fx_scores_rest(scores + 16 * nb, q, k + 16 * nb * kv_stride, kv_stride, npos - 16 * nb, hd, half, scale);
    return nb > kt_have ? nb : kt_have;
}

TGT void bitnet_f_values_avx2(float *o, const float *e, float sum, const float *v, int64_t kv_stride, int64_t npos,
                          int64_t hd) {
    int64_t i = 0;
    for (; i + 64 <= hd; i += 64) {
        __m256 acc[8];
        for (int c = 0; c < 8; c++) acc[c] = _mm256_setzero_ps();
        for (int64_t p = 0; p < npos; p++) {
            __m256 wb = _mm256_set1_ps(e[p] / sum);
            const float *vp = v + p * kv_stride + i;
            for (int c = 0; c < 8; c++) acc[c] = _mm256_add_ps(acc[c], _mm256_mul_ps(wb, _mm256_loadu_ps(vp + 8 * c)));
        }
        for (int c = 0; c < 8; c++) _mm256_storeu_ps(o + i + 8 * c, acc[c]);
    }
    for (; i + 8 <= hd; i += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int64_t p = 0; p < npos; p++)
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(e[p] / sum), _mm256_loadu_ps(v + p * kv_stride + i)));
        _mm256_storeu_ps(o + i, acc);
    }
    for (; i < hd; i++) {
        float acc = 0;
        for (int64_t p = 0; p < npos; p++) acc += (e[p] / sum) * v[p * kv_stride + i];
        o[i] = acc;
    }
}
