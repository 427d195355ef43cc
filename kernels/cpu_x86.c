//go:build amd64 && cgo

#include "cpu_x86.h"

#include <cpuid.h>
#include <stdint.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int bitnet_x86_features(void) {
    unsigned a, b, c, d;
    int f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return 0;
    uint64_t xcr0 = xgetbv0();
    int ymm = (xcr0 & 0x6) == 0x6;
    int zmm = (xcr0 & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    int vnni512 = (c >> 11) & 1, amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1;
    if (ymm && avx2 && fma && f16c) f |= BITNET_X86_AVX2;
    if (zmm && (f & BITNET_X86_AVX2) && avx512f && avx512bw && avx512vl) {
        f |= BITNET_X86_AVX512;
        if (vnni512) f |= BITNET_X86_AVX512VNNI;
    }
    unsigned a1, b1, c1, d1;
    if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && ymm && ((a1 >> 4) & 1)) f |= BITNET_X86_AVXVNNI;
    if (amx_tile && amx_int8 && (xcr0 & 0x60000) == 0x60000) f |= BITNET_X86_AMX_INT8;
    return f;
}
