/* CPU feature detection for the x86-64 kernels (cpuid + xgetbv, so no
 * compiler or library support is needed at run time). */
#ifndef BITNET_CPU_X86_H
#define BITNET_CPU_X86_H

/* Bit flags of bitnet_x86_features. */
#define BITNET_X86_AVX2 1      /* AVX2 + FMA + F16C, with OS support for YMM state */
#define BITNET_X86_AVX512 2    /* AVX-512 F, BW, VL, with OS support for ZMM state */
#define BITNET_X86_AVX512VNNI 4
#define BITNET_X86_AVXVNNI 8   /* VEX-encoded VNNI (256-bit) */
#define BITNET_X86_AMX_INT8 16 /* AMX tiles + int8 (the OS must also grant the tile state) */

int bitnet_x86_features(void);

#endif
