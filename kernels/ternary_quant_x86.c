//go:build amd64 && cgo

/* Per-token int8 quantization of activations (BitNet b1.58), exactly as
 * quant.QuantizeActivations: s = 127 / max(max|x|, 1e-5) in float32 (NaN
 * inputs ignored), q = clamp(round_half_even(float32(x*s)), -128, 127), a
 * NaN product giving 0. */

#include <immintrin.h>
#include <string.h>

#include "ternary_x86.h"

#define T2 __attribute__((target("avx2,fma,f16c")))
#define T5 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define INL static inline __attribute__((always_inline))

static float act_scale(float amax) { return 127.0f / (amax > 1e-5f ? amax : 1e-5f); }

/* Rounded, clamped integers of x*s (NaN -> 0). MAXPS returns its second
 * operand when either is NaN, so max(|x|, m) ignores NaN inputs. */
INL T2 __m256i quant8(__m256 x, __m256 s) {
    __m256 p = _mm256_mul_ps(x, s);
    __m256 r = _mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_and_ps(r, _mm256_cmp_ps(p, p, _CMP_ORD_Q));
    r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
    return _mm256_cvtps_epi32(r);
}

/* 32 quantized values of x into q. */
INL T2 void quant32(const float *x, int8_t *q, __m256 s) {
    __m256i a = _mm256_packs_epi32(quant8(_mm256_loadu_ps(x), s), quant8(_mm256_loadu_ps(x + 8), s));
    __m256i b = _mm256_packs_epi32(quant8(_mm256_loadu_ps(x + 16), s), quant8(_mm256_loadu_ps(x + 24), s));
    __m256i c = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, c);
}

T2 static void quant_row2(const float *x, int8_t *q, float *s, int64_t cols) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), absmask), m);
    float lanes[8], amax = 0;
    _mm256_storeu_ps(lanes, m);
    for (int i = 0; i < 8; i++) amax = lanes[i] > amax ? lanes[i] : amax;
    for (; j < cols; j++) {
        float a = x[j] < 0 ? -x[j] : x[j];
        if (a > amax) amax = a;
    }
    float sc = act_scale(amax);
    *s = sc;
    const __m256 vs = _mm256_set1_ps(sc);
    for (j = 0; j + 32 <= cols; j += 32) quant32(x + j, q + j, vs);
    if (j < cols) {
        float xb[32] = {0};
        int8_t qb[32];
        memcpy(xb, x + j, (size_t)(cols - j) * sizeof(float));
        quant32(xb, qb, vs);
        memcpy(q + j, qb, (size_t)(cols - j));
    }
}

T2 void bitnet_quant_rows_avx2(const float *x, int8_t *q, float *s, int64_t n, int64_t cols) {
    for (int64_t t = 0; t < n; t++) quant_row2(x + t * cols, q + t * cols, s + t, cols);
}

INL T5 __m512i quant16(__m512 x, __m512 s) {
    __m512 p = _mm512_mul_ps(x, s);
    __m512 r = _mm512_roundscale_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p, p, _CMP_ORD_Q), r);
    r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f));
    return _mm512_cvtps_epi32(r);
}

T5 static void quant_row5(const float *x, int8_t *q, float *s, int64_t cols) {
    __m512 m = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + j)), m);
    __mmask16 tail = (__mmask16)((1u << (cols - j)) - 1);
    if (tail) m = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(tail, x + j)), m);
    float sc = act_scale(_mm512_reduce_max_ps(m));
    *s = sc;
    const __m512 vs = _mm512_set1_ps(sc);
    for (j = 0; j + 16 <= cols; j += 16) _mm_storeu_si128((__m128i *)(q + j), _mm512_cvtepi32_epi8(quant16(_mm512_loadu_ps(x + j), vs)));
    if (tail) _mm512_mask_cvtepi32_storeu_epi8(q + j, tail, quant16(_mm512_maskz_loadu_ps(tail, x + j), vs));
}

T5 void bitnet_quant_rows_avx512(const float *x, int8_t *q, float *s, int64_t n, int64_t cols) {
    for (int64_t t = 0; t < n; t++) quant_row5(x + t * cols, q + t * cols, s + t, cols);
}
