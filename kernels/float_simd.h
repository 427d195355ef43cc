/* x86-64 SIMD kernels of the float32-activation operations: MatMul for
 * F32 / F16 / BF16 / Q8_0 / Q6_K weights, RMSNorm, and the attention scores
 * and value sums. One set of functions per instruction-set level; each is
 * compiled with a function-level target attribute, so the library runs on
 * any x86-64 and the Go side picks the level the CPU has.
 *
 * The kernels that promise Reference's exact bits (RMSNorm, attention) rely
 * on mul and add staying two rounded operations: float_x86.h turns off
 * floating-point contraction for the files that include it. Where fused
 * multiply-adds are wanted they are written as intrinsics. */
#ifndef BITNET_FLOAT_SIMD_H
#define BITNET_FLOAT_SIMD_H

#include <stdint.h>

/* Weight types, by ggml type id (quant.Type). */
#define BITNET_F_F32 0
#define BITNET_F_F16 1
#define BITNET_F_Q8_0 8
#define BITNET_F_Q6_K 14
#define BITNET_F_BF16 30

/* Rows dequantized at a time for n > 1: scratch must hold this many rows
 * of cols floats. */
#define BITNET_F_DEQ_ROWS 4

/* out[t*rows + r] = scale * dot(W[r], x[t]) for lo <= r < hi, t < n. W row
 * r starts at w + r*row_bytes. scratch: BITNET_F_DEQ_ROWS*cols floats,
 * used when n > 1 and type != F32 (may be NULL otherwise). */
void bitnet_f_matmul_avx2(int type, const uint8_t *w, int64_t row_bytes, int64_t cols, int64_t rows,
                          int64_t lo, int64_t hi, const float *x, int64_t n, float *out, float scale,
                          float *scratch);
void bitnet_f_matmul_avx512(int type, const uint8_t *w, int64_t row_bytes, int64_t cols, int64_t rows,
                            int64_t lo, int64_t hi, const float *x, int64_t n, float *out, float scale,
                            float *scratch);

/* RMSNorm of n rows of dim, bit-identical to Reference: each row's sum of
 * squares is a float32 sum in index order. out may alias x. */
void bitnet_f_rmsnorm_avx2(float *out, const float *x, const float *w, int64_t n, int64_t dim, float eps);
void bitnet_f_rmsnorm_avx512(float *out, const float *x, const float *w, int64_t n, int64_t dim, float eps);

/* scores[p] = (q.k_p) * scale for p < npos, k_p = k + p*kv_stride, each
 * dot a float32 sum (mul, then add) in Reference's element order: 0, 1, ...
 * when half == 0; 0, half, 1, half+1, ..., half-1, 2*half-1, then 2*half
 * .. hd-1 otherwise (rotate-half pairs). Bit-identical to Reference.
 *
 * kt (npos*hd floats) caches the keys transposed in blocks of positions
 * (16 for AVX2, 32 for AVX-512): its first kt_have blocks must already hold
 * this k's (0 when k changed). Returns the number of blocks it now holds, to
 * pass back for the next query head of the same KV head. */
int64_t bitnet_f_scores_avx2(float *scores, const float *q, const float *k, int64_t kv_stride, int64_t npos,
                             int64_t hd, int64_t half, float scale, float *kt, int64_t kt_have);
int64_t bitnet_f_scores_avx512(float *scores, const float *q, const float *k, int64_t kv_stride, int64_t npos,
                               int64_t hd, int64_t half, float scale, float *kt, int64_t kt_have);

/* o[i] = sum over p < npos, in order, of (e[p]/sum) * v_p[i], starting from
 * 0, with v_p = v + p*kv_stride: Reference's arithmetic exactly. */
void bitnet_f_values_avx2(float *o, const float *e, float sum, const float *v, int64_t kv_stride, int64_t npos,
                          int64_t hd);
void bitnet_f_values_avx512(float *o, const float *e, float sum, const float *v, int64_t kv_stride,
                            int64_t npos, int64_t hd);

#endif
