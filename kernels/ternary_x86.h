/* Ternary matrix products and activation quantization for x86-64 (AVX2 and
 * AVX-512 VNNI), called from ternary_amd64.go. Each function is compiled
 * for its instruction set with target attributes; the caller picks the one
 * the CPU supports.
 *
 * Arithmetic (the same as the Go reference kernels, bit for bit):
 *   out[t][r] = acc * (1/s[t]) * scale, acc = float32(sum_j w_j q_j) when
 *   every block scale of row r is 1 (always for I2_S), else
 *   acc = sum over 256-blocks, in order, of float32(block dot) * d_block. */
#ifndef BITNET_TERNARY_X86_H
#define BITNET_TERNARY_X86_H

#include <stdint.h>

/* Weight types (the type argument). */
#define BITNET_TERN_I2S 0
#define BITNET_TERN_TQ2 1
#define BITNET_TERN_TQ1 2

/* Bytes of per-worker scratch bitnet_tern_matmul_* needs for a matrix of
 * the type with cols weights per row and n tokens (wide: the AVX-512
 * kernel), 64-byte alignment included in the layout (pass a 64-aligned
 * pointer). */
int64_t bitnet_tern_scratch_bytes(int wide, int type, int64_t cols, int64_t n);

/* Rows lo..hi-1 of out[t][r] (t < n; out has rows floats per token) for the
 * ternary matrix w (rows of row_bytes bytes, cols weights each), int8
 * activations q [n][cols] with scales s [n], times scale. scratch: 64-byte
 * aligned, bitnet_tern_scratch_bytes bytes. */
void bitnet_tern_matmul_avx2(const uint8_t *w, int64_t row_bytes, int type, int64_t cols, int64_t rows,
                             const int8_t *q, const float *s, int64_t n, float scale, float *out,
                             int64_t lo, int64_t hi, uint8_t *scratch);
void bitnet_tern_matmul_avx512(const uint8_t *w, int64_t row_bytes, int type, int64_t cols, int64_t rows,
                               const int8_t *q, const float *s, int64_t n, float scale, float *out,
                               int64_t lo, int64_t hi, uint8_t *scratch);

/* Quantizes n rows of cols floats: s[t] = 127 / max(max|x|, 1e-5),
 * q = clamp(round_half_even(x * s), -128, 127), NaN products giving 0. */
void bitnet_quant_rows_avx2(const float *x, int8_t *q, float *s, int64_t n, int64_t cols);
void bitnet_quant_rows_avx512(const float *x, int8_t *q, float *s, int64_t n, int64_t cols);

#endif
