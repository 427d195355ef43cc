// CUDA kernels of the GPU forward pass (see DESIGN.md for the contract and
// the exactness rules). Compiled to PTX by `make ptx`:
//
//   nvcc -ptx -arch=compute_80 -fmad=false -O3 kernels.cu -o ptx/bitnet.ptx
//
// -fmad=false makes nvcc emit mul.rn/add.rn, which the JIT may not fuse:
// every float expression below is rounded operation by operation, as the Go
// Reference kernels are. Kernels allowed to fuse (float matrix products)
// call __fmaf_rn explicitly.
//
// Ternary weights use the GPU layout written by the Go function
// repackTernary (gpu_repack.go): rows in blocks of 8, columns in groups of
// 256 (both zero-padded: padding holds the 2-bit code 0). For row block rb
// and column group g, 32 uint4 words follow each other, one per lane of a
// warp: lane = 4*r8 + l (r8 the row within the block, l in 0..3). Word m
// (0..3) of that uint4 holds 16 weights of columns
// 256*g + 64*m + 16*l + [0, 16): byte b, bits 2k..2k+1 is column
// 256*g + 64*m + 16*l + 4*k + b, as the code weight+1 (0, 1, 2). So
// (word >> 2k) & 0x03030303 is four codes that __dp4a multiplies with the
// four int8 activations of one aligned 32-bit word; the sum of code*q minus
// the sum of q is the exact integer sum of weight*q.

#define FULL_MASK 0xffffffffu

typedef unsigned int u32;

// ---------------------------------------------------------------- helpers

__device__ __forceinline__ float half_to_float(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

// nan_max is Go's max for float32: NaN if either is NaN.
__device__ __forceinline__ float nan_max(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    return a > b ? a : b;
}

__device__ __forceinline__ float warp_nan_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ float warp_abs_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ int warp_isum(int v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// Block reductions over blockDim.x threads (a multiple of 32, at most
// 1024). red holds 32 slots. Every thread gets the result.
__device__ float block_abs_max(float v, float *red) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_abs_max(v);
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    v = lane < nw ? red[lane] : 0.0f;
    return warp_abs_max(v);
}

__device__ float block_nan_max(float v, float *red) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_nan_max(v);
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    v = lane < nw ? red[lane] : __int_as_float(0xff800000);
    return warp_nan_max(v);
}

__device__ int block_isum(int v, int *red) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_isum(v);
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    v = lane < nw ? red[lane] : 0;
    return warp_isum(v);
}

// seq_sumsq is Reference's sum of squares: ss += float32(x*x) in index
// order, one rounding per operation, on one thread.
__device__ float seq_sumsq(const float *x, int dim) {
    float ss = 0.0f;
    int i = 0;
    if ((((unsigned long long)x) & 15) == 0) {
        const float4 *x4 = (const float4 *)x;
#pragma unroll 4
        for (; i + 4 <= dim; i += 4) {
            float4 v = x4[i >> 2];
            ss = ss + v.x * v.x;
            ss = ss + v.y * v.y;
            ss = ss + v.z * v.z;
            ss = ss + v.w * v.w;
        }
    }
    for (; i < dim; i++) ss = ss + x[i] * x[i];
    return ss;
}

// expo is the biased exponent of a non-negative float.
__device__ __forceinline__ u32 expo(float f) { return __float_as_uint(f) >> 23; }

// warp_sumsq is seq_sumsq computed by one warp, bit for bit, several times
// faster. Each lane takes a segment of dim/32 elements and runs the
// sequential chain from a candidate start c: the float prefix sum of the
// earlier segments (lane 0 starts from the true 0). Within one binade
// [2^E, 2^(E+1)), adding a multiple d of the binade's ulp to a chain's
// start adds d to every value of the chain (rounding commutes with that
// translation), except that at an exact tie round-half-even depends on the
// parity of d/ulp. So when the true start s lies in c's binade, the chain
// from s ends at e + (s - c) as long as that stays below 2^(E+1) and, if
// the candidate chain had a tie, s and c have the same last mantissa bit.
// A chain may cross into the next binade once: the crossing step is redone
// exactly from the true value, and the rest is a second translation in
// binade E+1. Lane 0 then walks the segments in order, taking each
// translated end when those conditions hold, and running the segment
// sequentially from the true start otherwise (about once per row). All 32
// lanes of the warp call it; every lane gets the result. (The Go test
// gpu_sumsq_test.go runs the same steps on the host.)
#define SQ_OK 1
#define SQ_CROSS 2
#define SQ_TIEA 4
#define SQ_TIEB 8
#define SQ_PARA 16
#define SQ_PARB 32
__device__ float warp_sumsq(const float *x, int dim) {
    __shared__ float s_da[32], s_hia[32], s_xp[32], s_db[32], s_hib[32];
    __shared__ u32 s_e[32], s_flags[32];
    const int lane = threadIdx.x & 31;
    const int L = (dim + 31) >> 5;
    const int lo = min(lane * L, dim), hi = min(lo + L, dim);
    float a = 0.0f;
    for (int i = lo; i < hi; i++) a = a + x[i] * x[i];
    float incl = a;
    for (int o = 1; o < 32; o <<= 1) {
        float v = __shfl_up_sync(FULL_MASK, incl, o);
        if (lane >= o) incl = incl + v;
    }
    float c = __shfl_up_sync(FULL_MASK, incl, 1);
    if (lane == 0) c = 0.0f;

    const u32 E = expo(c);
    bool ok = E >= 25u && E < 253u, cross = false, tieA = false, tieB = false;
    float t = c, cB = 0.0f, dA = 0.0f, xp = 0.0f;
    for (int i = lo; i < hi; i++) {
        float p = x[i] * x[i];
        float sum = t + p;
        float bb = sum - t;
        float err = (t - (sum - bb)) + (p - bb);
        u32 es = expo(sum);
        bool tie = es > 24u && err != 0.0f && fabsf(err) == __uint_as_float((es - 24u) << 23);
        if (!cross) {
            if (es == E) {
                if (es <= 24u) ok = false;
                else if (tie) tieA = true;
            } else if (es == E + 1u) {
                dA = t - c;
                cross = true;
                xp = p;
                cB = sum;
            } else {
                ok = false;
            }
        } else if (es == E + 1u) {
            if (tie) tieB = true;
        } else {
            ok = false;
        }
        t = sum;
    }
    const float lo2 = __uint_as_float(E << 23);
    if (!cross) dA = t - c;
    s_e[lane] = E;
    s_da[lane] = dA;
    s_hia[lane] = 2.0f * lo2 - dA;
    s_xp[lane] = xp;
    float dB = cross ? t - cB : 0.0f;
    s_db[lane] = dB;
    s_hib[lane] = 4.0f * lo2 - dB;
    s_flags[lane] = (ok ? SQ_OK : 0) | (cross ? SQ_CROSS : 0) | (tieA ? SQ_TIEA : 0) | (tieB ? SQ_TIEB : 0) |
                    ((__float_as_uint(c) & 1u) ? SQ_PARA : 0) | ((__float_as_uint(cB) & 1u) ? SQ_PARB : 0);
    __syncwarp();
    float s = t; // lane 0: the exact sum of segment 0
    if (lane == 0) {
        for (int j = 1; j < 32; j++) {
            const u32 f = s_flags[j];
            bool good = false;
            float s2 = s;
            if (f & SQ_OK) {
                const float l2 = __uint_as_float(s_e[j] << 23);
                if (s >= l2 && s < s_hia[j] && (!(f & SQ_TIEA) || ((__float_as_uint(s) & 1u) != 0) == ((f & SQ_PARA) != 0))) {
                    s2 = s + s_da[j];
                    good = true;
                    if (f & SQ_CROSS) {
                        s2 = s2 + s_xp[j];
                        good = s2 >= 2.0f * l2 && s2 < s_hib[j] &&
                               (!(f & SQ_TIEB) || ((__float_as_uint(s2) & 1u) != 0) == ((f & SQ_PARB) != 0));
                        if (good) s2 = s2 + s_db[j];
                    }
                }
            }
            if (good) {
                s = s2;
            } else {
                const int jlo = min(j * L, dim), jhi = min(jlo + L, dim);
                for (int i = jlo; i < jhi; i++) s = s + x[i] * x[i];
            }
        }
    }
    __syncwarp();
    return __shfl_sync(FULL_MASK, s, 0);
}

// rms_inv is 1/sqrt(mean + eps) as Reference computes it.
__device__ __forceinline__ float rms_inv(float ss, int dim, float eps) {
    ss = ss / (float)dim;
    ss = ss + eps;
    return (float)(1.0 / sqrt((double)ss));
}

// quant_code is BitNet's activation code: clamp(rint(v*s), -128, 127), 0
// for NaN.
__device__ __forceinline__ int quant_code(float v, float s) {
    float r = rintf(v * s);
    if (r >= 127.0f) return 127;
    if (r <= -128.0f) return -128;
    if (r == r) return (int)r;
    return 0;
}

// ---------------------------------------------------------------- embedding

extern "C" __global__ void embed_f32(const float *table, const int *ids, float *out, int n, int dim) {
    long long total = (long long)n * dim;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        int t = (int)(i / dim), j = (int)(i % dim);
        out[i] = table[(size_t)ids[t] * dim + j];
    }
}

extern "C" __global__ void embed_f16(const unsigned short *table, const int *ids, float *out, int n, int dim) {
    long long total = (long long)n * dim;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        int t = (int)(i / dim), j = (int)(i % dim);
        out[i] = half_to_float(table[(size_t)ids[t] * dim + j]);
    }
}

// ---------------------------------------------------------------- RMSNorm and quantization

// rmsnorm: one block per row. out may alias x.
extern "C" __global__ void rmsnorm(const float *x, const float *w, float *out, int n, int dim, float eps) {
    __shared__ float inv_s;
    int t = blockIdx.x;
    if (t >= n) return;
    const float *xr = x + (size_t)t * dim;
    float *orow = out + (size_t)t * dim;
    if (threadIdx.x == 0) inv_s = rms_inv(seq_sumsq(xr, dim), dim, eps);
    __syncthreads();
    float inv = inv_s;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) orow[i] = w[i] * (inv * xr[i]);
}

// quantize_block quantizes row x (cols values) with the whole block.
__device__ void quantize_block(const float *x, signed char *q, float *s_out, int *qsum_out, int cols) {
    __shared__ float redf[32];
    __shared__ int redi[32];
    float amax = 0.0f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float a = fabsf(x[i]);
        if (a > amax) amax = a;
    }
    amax = block_abs_max(amax, redf);
    float s = 127.0f / fmaxf(amax, 1e-5f);
    int sum = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        int c = quant_code(x[i], s);
        q[i] = (signed char)c;
        sum += c;
    }
    sum = block_isum(sum, redi);
    if (threadIdx.x == 0) {
        *s_out = s;
        *qsum_out = sum;
    }
}

// quantize_rows: one block per row; s is the row's scale (127/absmax) and
// qsum the sum of its codes.
extern "C" __global__ void quantize_rows(const float *x, signed char *q, float *s, int *qsum, int n, int cols) {
    int t = blockIdx.x;
    if (t >= n) return;
    quantize_block(x + (size_t)t * cols, q + (size_t)t * cols, s + t, qsum + t, cols);
}

// rmsnorm_quant is rmsnorm followed, when q is not null, by quantize_rows
// of its output, in one launch. out may alias x. With fast, the sum of
// squares is warp_sumsq (the same bits) instead of one thread's loop.
extern "C" __global__ void rmsnorm_quant(const float *x, const float *w, float *out, signed char *q, float *s, int *qsum,
                                         int n, int dim, float eps, int fast) {
    __shared__ float inv_s;
    int t = blockIdx.x;
    if (t >= n) return;
    const float *xr = x + (size_t)t * dim;
    float *orow = out + (size_t)t * dim;
    if (fast) {
        if (threadIdx.x < 32) {
            float ss = warp_sumsq(xr, dim);
            if (threadIdx.x == 0) inv_s = rms_inv(ss, dim, eps);
        }
    } else if (threadIdx.x == 0) {
        inv_s = rms_inv(seq_sumsq(xr, dim), dim, eps);
    }
    __syncthreads();
    float inv = inv_s;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) orow[i] = w[i] * (inv * xr[i]);
    if (q == 0) return;
    __syncthreads();
    quantize_block(orow, q + (size_t)t * dim, s + t, qsum + t, dim);
}

// ---------------------------------------------------------------- ternary products

#define TERN_MAX_WARPS 8
#define TERN_GEMM_TOKENS 8

// tern_body computes rows 8*blockIdx.x .. +7 for tokens NT*blockIdx.y ..
// +NT-1 of y = W q with W in the GPU layout. The warps of the block split
// the column groups; lanes 4*r8..4*r8+3 hold row r8. Row r's output is
// float(acc) * (1/s[t]) * scale(r), where scale(r) is sc0 below seg1, sc1
// below seg2 and sc2 above (fused matrices); with add the output is added
// to out.
template <int NT>
__device__ __forceinline__ void tern_body(const uint4 *__restrict__ w, const signed char *__restrict__ q,
                                          const float *__restrict__ s, const int *__restrict__ qsum, float *out,
                                          int rows, int cols, int n, int seg1, int seg2, float sc0, float sc1, float sc2,
                                          int add) {
    __shared__ int red[TERN_MAX_WARPS][8][NT];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = min((int)(blockDim.x >> 5), TERN_MAX_WARPS);
    const int l = lane & 3, r8 = lane >> 2;
    const int G = (cols + 255) >> 8;
    const int rb = blockIdx.x;
    const int t0 = blockIdx.y * NT;
    const int nt = min(NT, n - t0);
    int acc[NT], acc2[NT];
#pragma unroll
    for (int j = 0; j < NT; j++) acc[j] = acc2[j] = 0;
    const uint4 *wb = w + (size_t)rb * G * 32 + lane;
    if (warp < nwarps) {
        for (int g0 = warp; g0 < G; g0 += 4 * nwarps) {
            uint4 wv[4];
#pragma unroll
            for (int u = 0; u < 4; u++) {
                int g = g0 + u * nwarps;
                if (g < G) wv[u] = __ldg(wb + (size_t)g * 32);
                else wv[u] = make_uint4(0, 0, 0, 0);
            }
#pragma unroll
            for (int u = 0; u < 4; u++) {
                int g = g0 + u * nwarps;
                if (g < G) {
                    const u32 ww[4] = {wv[u].x, wv[u].y, wv[u].z, wv[u].w};
#pragma unroll
                    for (int j = 0; j < NT; j++) {
                        if (j < nt) {
                            const uint4 *qa = (const uint4 *)(q + (size_t)(t0 + j) * cols + (size_t)g * 256 + 16 * l);
                            // Two chains: more independent dp4a in flight.
                            int a = acc[j], a2 = acc2[j];
#pragma unroll
                            for (int m = 0; m < 4; m++) {
                                uint4 x = __ldg(qa + 4 * m);
                                u32 c = ww[m];
                                a = __dp4a((int)(c & 0x03030303u), (int)x.x, a);
                                a2 = __dp4a((int)((c >> 2) & 0x03030303u), (int)x.y, a2);
                                a = __dp4a((int)((c >> 4) & 0x03030303u), (int)x.z, a);
                                a2 = __dp4a((int)((c >> 6) & 0x03030303u), (int)x.w, a2);
                            }
                            acc[j] = a;
                            acc2[j] = a2;
                        }
                    }
                }
            }
        }
    }
#pragma unroll
    for (int j = 0; j < NT; j++) {
        int a = acc[j] + acc2[j];
        a += __shfl_xor_sync(FULL_MASK, a, 1);
        a += __shfl_xor_sync(FULL_MASK, a, 2);
        acc[j] = a;
    }
    if (warp < nwarps && l == 0) {
#pragma unroll
        for (int j = 0; j < NT; j++) red[warp][r8][j] = acc[j];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < 8 * NT; i += blockDim.x) {
        int rr = i / NT, j = i % NT;
        int row = rb * 8 + rr;
        if (row >= rows || j >= nt) continue;
        int total = 0;
        for (int k = 0; k < nwarps; k++) total += red[k][rr][j];
        int t = t0 + j;
        total -= qsum[t];
        float sc = row < seg1 ? sc0 : (row < seg2 ? sc1 : sc2);
        float y = (float)total * (1.0f / s[t]) * sc;
        float *o = out + (size_t)t * rows + row;
        if (add) y = *o + y;
        *o = y;
    }
}

// tern_gemv: decode, one token (contract kernel). Grid: ceil(rows/8)
// blocks of 32*W threads (W <= 8 warps splitting the column groups).
extern "C" __global__ void tern_gemv(const unsigned char *w, const signed char *q, const float *s, const int *qsum,
                                     float *out, int rows, int cols, float scale) {
    tern_body<1>((const uint4 *)w, q, s, qsum, out, rows, cols, 1, rows, rows, scale, scale, scale, 0);
}

// tern_gemm: prefill, n tokens (contract kernel). Grid: ceil(rows/8) x
// ceil(n/8) blocks.
extern "C" __global__ void tern_gemm(const unsigned char *w, const signed char *q, const float *s, const int *qsum,
                                     float *out, int rows, int cols, float scale, int n) {
    tern_body<TERN_GEMM_TOKENS>((const uint4 *)w, q, s, qsum, out, rows, cols, n, rows, rows, scale, scale, scale, 0);
}

// tern_mv / tern_mm: tern_gemv / tern_gemm over up to three fused matrices
// stacked by rows (rows below seg1 use sc0, below seg2 sc1, then sc2), with
// an optional accumulate (out += y) for residual connections.
extern "C" __global__ void tern_mv(const unsigned char *w, const signed char *q, const float *s, const int *qsum,
                                   float *out, int rows, int cols, int seg1, int seg2, float sc0, float sc1, float sc2,
                                   int add) {
    tern_body<1>((const uint4 *)w, q, s, qsum, out, rows, cols, 1, seg1, seg2, sc0, sc1, sc2, add);
}

extern "C" __global__ void tern_mm(const unsigned char *w, const signed char *q, const float *s, const int *qsum,
                                   float *out, int rows, int cols, int n, float scale, int add) {
    tern_body<TERN_GEMM_TOKENS>((const uint4 *)w, q, s, qsum, out, rows, cols, n, rows, rows, scale, scale, scale, add);
}

// ---------------------------------------------------------------- float matrix products

#define FMM_TOKENS 4

// fmm_body: one warp per row (row = blockIdx.x*warps + warp), tokens
// FMM_TOKENS*blockIdx.y .. +FMM_TOKENS-1. KIND 0: F32 rows; 1: F16 rows;
// 2: Q8_0 repacked as int8 codes [rows][cols] followed by float scales
// [rows][cols/32]. Any summation order (the contract allows it), FMA
// explicit.
template <int KIND>
__device__ __forceinline__ void fmm_body(const void *wv, const float *__restrict__ x, float *out, int rows, int cols,
                                         int n, float scale, int add) {
    const int lane = threadIdx.x & 31;
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int t0 = blockIdx.y * FMM_TOKENS;
    const int nt = min(FMM_TOKENS, n - t0);
    float acc[FMM_TOKENS];
#pragma unroll
    for (int j = 0; j < FMM_TOKENS; j++) acc[j] = 0.0f;
    // Vector path: chunks of 8 (F32, F16) or 16 (Q8_0) columns.
    const int chunk = KIND == 2 ? 16 : 8;
    const bool vec = (cols % chunk) == 0;
    if (vec) {
        const int nch = cols / chunk;
        for (int c0 = lane; c0 < nch; c0 += 32 * 4) {
            float wf[4][16];
#pragma unroll
            for (int u = 0; u < 4; u++) {
                int c = c0 + 32 * u;
                if (c >= nch) c = c0; // in range: loaded again, not used
                if (KIND == 0) {
                    const float4 *wr = (const float4 *)((const float *)wv + (size_t)row * cols) + 2 * c;
                    float4 a = __ldg(wr), b = __ldg(wr + 1);
                    wf[u][0] = a.x; wf[u][1] = a.y; wf[u][2] = a.z; wf[u][3] = a.w;
                    wf[u][4] = b.x; wf[u][5] = b.y; wf[u][6] = b.z; wf[u][7] = b.w;
                } else if (KIND == 1) {
                    const uint4 *wr = (const uint4 *)((const unsigned short *)wv + (size_t)row * cols) + c;
                    uint4 a = __ldg(wr);
                    const u32 ws[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
                    for (int k = 0; k < 4; k++) {
                        wf[u][2 * k] = half_to_float((unsigned short)(ws[k] & 0xffff));
                        wf[u][2 * k + 1] = half_to_float((unsigned short)(ws[k] >> 16));
                    }
                } else {
                    const uint4 *wr = (const uint4 *)((const signed char *)wv + (size_t)row * cols) + c;
                    uint4 a = __ldg(wr);
                    const float *dv = (const float *)((const signed char *)wv + (size_t)rows * cols);
                    float d = __ldg(dv + (size_t)row * (cols / 32) + (c >> 1));
                    const u32 ws[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
                    for (int k = 0; k < 16; k++) {
                        int b = (int)(signed char)((ws[k >> 2] >> (8 * (k & 3))) & 0xff);
                        wf[u][k] = (float)b * d;
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < 4; u++) {
                int c = c0 + 32 * u;
                if (c >= nch) continue;
#pragma unroll
                for (int j = 0; j < FMM_TOKENS; j++) {
                    if (j >= nt) continue;
                    const float4 *xr = (const float4 *)(x + (size_t)(t0 + j) * cols + (size_t)c * chunk);
                    float a = acc[j];
#pragma unroll
                    for (int k = 0; k < chunk / 4; k++) {
                        float4 xv = __ldg(xr + k);
                        a = __fmaf_rn(wf[u][4 * k], xv.x, a);
                        a = __fmaf_rn(wf[u][4 * k + 1], xv.y, a);
                        a = __fmaf_rn(wf[u][4 * k + 2], xv.z, a);
                        a = __fmaf_rn(wf[u][4 * k + 3], xv.w, a);
                    }
                    acc[j] = a;
                }
            }
        }
    } else {
        for (int i = lane; i < cols; i += 32) {
            float wi;
            if (KIND == 0) wi = __ldg((const float *)wv + (size_t)row * cols + i);
            else if (KIND == 1) wi = half_to_float(__ldg((const unsigned short *)wv + (size_t)row * cols + i));
            else {
                const float *dv = (const float *)((const signed char *)wv + (size_t)rows * cols);
                wi = (float)((const signed char *)wv)[(size_t)row * cols + i] * dv[(size_t)row * (cols / 32) + i / 32];
            }
#pragma unroll
            for (int j = 0; j < FMM_TOKENS; j++) {
                if (j >= nt) break;
                acc[j] = __fmaf_rn(wi, x[(size_t)(t0 + j) * cols + i], acc[j]);
            }
        }
    }
#pragma unroll
    for (int j = 0; j < FMM_TOKENS; j++) {
        float a = acc[j];
        for (int o = 16; o > 0; o >>= 1) a = a + __shfl_xor_sync(FULL_MASK, a, o);
        acc[j] = a;
    }
    if (lane == 0) {
        for (int j = 0; j < nt; j++) {
            float *o = out + (size_t)(t0 + j) * rows + row;
            float y = acc[j] * scale;
            if (add) y = *o + y;
            *o = y;
        }
    }
}

// matmul_*: out[t][r] = scale * sum_c W[r][c] x[t][c]. Grid:
// ceil(rows/warps) x ceil(n/4) blocks of whole warps, one warp per row.
extern "C" __global__ void matmul_f32(const void *w, const float *x, float *out, int rows, int cols, int n, float scale) {
    fmm_body<0>(w, x, out, rows, cols, n, scale, 0);
}

extern "C" __global__ void matmul_f16(const void *w, const float *x, float *out, int rows, int cols, int n, float scale) {
    fmm_body<1>(w, x, out, rows, cols, n, scale, 0);
}

extern "C" __global__ void matmul_q8_0(const void *w, const float *x, float *out, int rows, int cols, int n, float scale) {
    fmm_body<2>(w, x, out, rows, cols, n, scale, 0);
}

// ---------------------------------------------------------------- RoPE and the KV cache

// rope_pair rotates pair i of one head vector v at table row cs/sn.
__device__ __forceinline__ void rope_pair(float *v, const float *cs, const float *sn, int i, int half, int half_mode) {
    int a, b;
    if (half_mode) {
        a = i;
        b = i + half;
    } else {
        a = 2 * i;
        b = 2 * i + 1;
    }
    float x0 = v[a], x1 = v[b], c = cs[i], s = sn[i];
    v[a] = x0 * c - x1 * s;
    v[b] = x0 * s + x1 * c;
}

// rope: x is [n][heads*head_dim]; row t at position start+t. cos and sin
// are [positions][rot_dims/2] tables (kernels.RopeTable.At).
extern "C" __global__ void rope(float *x, const float *cos, const float *sin, int n, int heads, int head_dim,
                                int rot_dims, int start, int half_mode) {
    int half = rot_dims / 2;
    long long total = (long long)n * heads * half;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x) {
        int i = (int)(idx % half);
        long long th = idx / half;
        int h = (int)(th % heads), t = (int)(th / heads);
        size_t p = (size_t)(start + t) * half;
        rope_pair(x + ((size_t)t * heads + h) * head_dim, cos + p, sin + p, i, half, half_mode);
    }
}

// kv_store appends n rows of kv_dim keys and values at position start.
extern "C" __global__ void kv_store(const float *k, const float *v, float *kc, float *vc, int n, int kv_dim, int start) {
    long long total = (long long)n * kv_dim;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        size_t d = (size_t)start * kv_dim + i;
        kc[d] = k[i];
        vc[d] = v[i];
    }
}

// rope_kv_step is the decode step's rope of q and k and kv_store of k and v
// at the position *pos, in one launch (one token).
extern "C" __global__ void rope_kv_step(float *q, float *k, const float *v, const float *cos, const float *sin,
                                        float *kc, float *vc, int heads, int kv_heads, int head_dim, int rot_dims,
                                        int half_mode, const int *pos) {
    int half = rot_dims / 2;
    int p = *pos;
    int kv_dim = kv_heads * head_dim;
    const float *cs = cos + (size_t)p * half, *sn = sin + (size_t)p * half;
    float *kd = kc + (size_t)p * kv_dim, *vd = vc + (size_t)p * kv_dim;
    int nq = heads * half, nk = kv_heads * half;
    int total = nq + nk + kv_dim;
    for (int idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
        if (idx < nq) {
            rope_pair(q + (idx / half) * head_dim, cs, sn, idx % half, half, half_mode);
        } else if (idx < nq + nk) {
            int j = idx - nq, h = j / half, i = j % half;
            float *kv = k + h * head_dim;
            rope_pair(kv, cs, sn, i, half, half_mode);
            int a = half_mode ? i : 2 * i, b = half_mode ? i + half : 2 * i + 1;
            kd[h * head_dim + a] = kv[a];
            kd[h * head_dim + b] = kv[b];
        } else {
            int j = idx - nq - nk;
            vd[j] = v[j];
            if (j % head_dim >= rot_dims) kd[j] = k[j];
        }
    }
}

// ---------------------------------------------------------------- attention

// attend_one: causal attention of one query head vector qv at position pos
// over cache positions 0..pos (exact order, see DESIGN.md). halfp is 0 for
// the plain q.k order, else the number of rotate-half pairs (rot_dims/2):
// the order is i, i+halfp for i < halfp, then 2*halfp.. head_dim-1.
// sc is scratch for pos+1 scores. One block.
__device__ void attend_one(const float *qv, const float *kc, const float *vc, float *o, int pos, int kvh, int kv_dim,
                           int hd, float scale, int halfp, float *sc) {
    __shared__ float red[32];
    __shared__ float sum_s;
    float lmax = __int_as_float(0xff800000);
    const size_t koff = (size_t)kvh * hd;
    for (int p = threadIdx.x; p <= pos; p += blockDim.x) {
        const float *k = kc + (size_t)p * kv_dim + koff;
        float s = 0.0f;
        if (halfp > 0) {
            for (int i = 0; i < halfp; i++) {
                s = s + qv[i] * k[i];
                s = s + qv[i + halfp] * k[i + halfp];
            }
            for (int i = 2 * halfp; i < hd; i++) s = s + qv[i] * k[i];
        } else {
#pragma unroll 8
            for (int i = 0; i < hd; i++) s = s + qv[i] * k[i];
        }
        s = s * scale;
        sc[p] = s;
        lmax = nan_max(lmax, s);
    }
    float m = block_nan_max(lmax, red);
    for (int p = threadIdx.x; p <= pos; p += blockDim.x) sc[p] = (float)exp((double)(sc[p] - m));
    __syncthreads();
    if (threadIdx.x == 0) {
        float sum = 0.0f;
        for (int p = 0; p <= pos; p++) sum = sum + sc[p];
        sum_s = sum;
    }
    __syncthreads();
    float sum = sum_s;
    for (int p = threadIdx.x; p <= pos; p += blockDim.x) sc[p] = sc[p] / sum;
    __syncthreads();
    for (int i = threadIdx.x; i < hd; i += blockDim.x) {
        const float *v = vc + koff + i;
        float acc = 0.0f;
        for (int p = 0; p <= pos; p++) acc = acc + sc[p] * v[(size_t)p * kv_dim];
        o[i] = acc;
    }
}

// attend: q and out are [n][heads*head_dim]; token t at position start+t
// attends over cache positions 0..start+t. Grid: heads x n blocks.
// half_mode: 0 for the plain q.k order, else rot_dims/2 (rotate-half pairs).
// scratch holds n*heads*(start+n) floats.
extern "C" __global__ void attend(const float *q, const float *kc, const float *vc, float *out, int n, int start,
                                  int heads, int kv_heads, int head_dim, float scale, int half_mode, float *scratch) {
    int h = blockIdx.x, t = blockIdx.y;
    if (h >= heads || t >= n) return;
    int group = heads / kv_heads;
    int len = start + n;
    size_t qo = ((size_t)t * heads + h) * head_dim;
    attend_one(q + qo, kc, vc, out + qo, start + t, h / group, kv_heads * head_dim, head_dim, scale, half_mode,
               scratch + ((size_t)t * heads + h) * len);
}

// attend_step: attend for the decode step, one token at position *pos.
// scratch holds heads*ctx floats. Grid: heads blocks.
extern "C" __global__ void attend_step(const float *q, const float *kc, const float *vc, float *out, int heads,
                                       int kv_heads, int head_dim, float scale, int half_mode, float *scratch, int ctx,
                                       const int *pos) {
    int h = blockIdx.x;
    if (h >= heads) return;
    int group = heads / kv_heads;
    size_t qo = (size_t)h * head_dim;
    attend_one(q + qo, kc, vc, out + qo, *pos, h / group, kv_heads * head_dim, head_dim, scale, half_mode,
               scratch + (size_t)h * ctx);
}

// ---------------------------------------------------------------- element-wise

// glu: out = act(gate) * up; relu2 selects max(g,0)^2, else SiLU with a
// double exp, as Reference.
extern "C" __global__ void glu(const float *gate, const float *up, float *out, int n, int relu2) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        float g = gate[i];
        if (relu2) {
            if (!(g != g)) g = g > 0.0f ? g : 0.0f;
            out[i] = g * g * up[i];
        } else {
            float e = (float)exp((double)(-g));
            out[i] = g * (1.0f / (1.0f + e)) * up[i];
        }
    }
}

extern "C" __global__ void add_inplace(float *x, const float *y, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) x[i] = x[i] + y[i];
}

// ---------------------------------------------------------------- argmax

// argmax_block: index of the largest of x[0..n) (NaN as -inf, the lowest
// index on ties, -1 when every value is NaN or -inf), in thread 0.
__device__ int argmax_block(const float *x, int n) {
    __shared__ float rv[32];
    __shared__ int ri[32];
    float bv = __int_as_float(0xff800000);
    int bi = -1;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = x[i];
        if (v > bv) {
            bv = v;
            bi = i;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(FULL_MASK, bv, o);
        int oi = __shfl_xor_sync(FULL_MASK, bi, o);
        if (oi >= 0 && (bi < 0 || ov > bv || (ov == bv && oi < bi))) {
            bv = ov;
            bi = oi;
        }
    }
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    if (lane == 0) {
        rv[w] = bv;
        ri[w] = bi;
    }
    __syncthreads();
    if (w == 0) {
        bv = lane < nw ? rv[lane] : __int_as_float(0xff800000);
        bi = lane < nw ? ri[lane] : -1;
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(FULL_MASK, bv, o);
            int oi = __shfl_xor_sync(FULL_MASK, bi, o);
            if (oi >= 0 && (bi < 0 || ov > bv || (ov == bv && oi < bi))) {
                bv = ov;
                bi = oi;
            }
        }
    }
    return bi;
}

// argmax: one block.
extern "C" __global__ void argmax(const float *x, int n, int *out) {
    int i = argmax_block(x, n);
    if (threadIdx.x == 0) *out = i;
}

// argmax_step ends a decode step: the argmax of the logits becomes the next
// token (ids[0], 0 when there is none) and is recorded in hist[*pos] (-1
// when there is none); *pos advances. One block.
extern "C" __global__ void argmax_step(const float *x, int n, int *pos, int *ids, int *hist, int ctx) {
    int i = argmax_block(x, n);
    if (threadIdx.x == 0) {
        int p = *pos;
        if (p >= 0 && p < ctx) hist[p] = i;
        ids[0] = i < 0 ? 0 : i;
        *pos = p + 1;
    }
}

// bandwidth_copy copies n uint4 (a device-to-device bandwidth probe for the
// benchmark).
extern "C" __global__ void bandwidth_copy(const uint4 *src, uint4 *dst, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        dst[i] = src[i];
}

// bandwidth_read sums n uint4 words (a read-bandwidth probe); the result
// is written only when it equals the impossible value flag, so the loads
// cannot be removed.
extern "C" __global__ void bandwidth_read(const uint4 *src, long long n, u32 flag, u32 *out) {
    u32 acc = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        uint4 v = __ldg(src + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == flag) *out = acc;
}
