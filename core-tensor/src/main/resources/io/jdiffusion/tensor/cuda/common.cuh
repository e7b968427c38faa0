// Shared by every kernel source. NVRTC gets this file as an in-memory header; nvcc finds it
// with -I (scripts/check-cuda-sources.sh). No host or CUDA headers: the 16-bit formats are
// plain structs converted with PTX instructions and bit arithmetic, so NVRTC needs no include
// path. All arithmetic is F32; F16/BF16 are storage formats only. JD_EMULATE is defined only
// by the CPU emulator the tests can run the kernels on (scripts/check-cuda-sources.sh --emulate).
#pragma once

typedef long long i64;

// math.h's INFINITY is not available under NVRTC without host headers
#define NEG_INF __int_as_float(0xff800000)

struct f16 { unsigned short x; };
struct bf16 { unsigned short x; };

// Dynamic shared memory of a launch (the CPU emulator of the tests supplies its own).
#ifndef JD_DYNAMIC_SHARED
#define JD_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif

__device__ __forceinline__ float to_f(float v) { return v; }
#ifndef JD_EMULATE
__device__ __forceinline__ float to_f(f16 v) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v.x));
    return f;
}
#else
__device__ __forceinline__ float to_f(f16 v) { return jd_half_to_float(v.x); }
#endif
__device__ __forceinline__ float to_f(bf16 v) { return __uint_as_float(((unsigned) v.x) << 16); }

template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ float from_f<float>(float v) { return v; }
template <> __device__ __forceinline__ f16 from_f<f16>(float v) {
    f16 r;
#ifndef JD_EMULATE
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.x) : "f"(v));   // round to nearest even, like torch's .half()
#else
    r.x = jd_float_to_half(v);
#endif
    return r;
}
template <> __device__ __forceinline__ bf16 from_f<bf16>(float v) {
    unsigned x = __float_as_uint(v);
    bf16 r;
    if ((x & 0x7fffffffu) > 0x7f800000u) r.x = (unsigned short) ((x >> 16) | 0x40u);   // NaN stays quiet
    else r.x = (unsigned short) ((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);              // round to nearest even
    return r;
}

// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16} (flash_mma.cu, conv_mma.cu): d += a b on one warp.
// Fragment element (lane, i) of the documented layouts, with g = lane / 4 and t = lane % 4:
//   A 16x16 (row): a_i at row g + 8 * ((i / 2) % 2), column 2t + (i % 2) + 8 * (i / 4)
//   B 16x8 (col):  b_i at row 2t + (i % 2) + 8 * (i / 2), column g
//   C/D 16x8:      c_i at row g + 8 * (i / 2), column 2t + (i % 2)
// Two consecutive elements share one 32-bit register, the lower index in the low half.
#ifndef JD_EMULATE
__device__ __forceinline__ void mma_16816(float* d, const unsigned* a, const unsigned* b, f16) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void mma_16816(float* d, const unsigned* a, const unsigned* b, bf16) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#else
__device__ __forceinline__ void mma_16816(float* d, const unsigned* a, const unsigned* b, f16) { jd_mma_m16n8k16(d, a, b, 0); }
__device__ __forceinline__ void mma_16816(float* d, const unsigned* a, const unsigned* b, bf16) { jd_mma_m16n8k16(d, a, b, 1); }
#endif

__device__ __forceinline__ unsigned pack2(unsigned short lo, unsigned short hi) { return (unsigned) lo | ((unsigned) hi << 16); }
template <typename T> __device__ __forceinline__ unsigned pack2f(float lo, float hi) { return pack2(from_f<T>(lo).x, from_f<T>(hi).x); }

// Index arithmetic for up to 6 dimensions (broadcasting and permutes): element strides of the
// sources for each output dimension (0 where a source is broadcast).
#define MAX_RANK 6
struct Index6 {
    int rank;
    int contiguous;          // 1: every operand has the output's shape, index directly
    i64 shape[MAX_RANK];     // output shape
    i64 sa[MAX_RANK];        // strides of the first source
    i64 sb[MAX_RANK];        // strides of the second source (binary ops)
};

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum (MAX false) or max over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
template <bool MAX>
__device__ __forceinline__ float block_reduce(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = MAX ? warp_max(v) : warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < nw ? scratch[lane] : (MAX ? NEG_INF : 0.f);
    return MAX ? warp_max(t) : warp_sum(t);
}
__device__ __forceinline__ float block_sum(float v, float* scratch) { return block_reduce<false>(v, scratch); }
__device__ __forceinline__ float block_max(float v, float* scratch) { return block_reduce<true>(v, scratch); }

__device__ __forceinline__ float silu_f(float v) { return v / (1.f + expf(-v)); }
__device__ __forceinline__ float gelu_f(float v) { return 0.5f * v * (1.f + erff(v * 0.70710678118654752f)); }

// 16 bytes moved by one load or store (ld/st.v4) where alignment allows.
struct alignas(16) vec16 { unsigned w[4]; };

// Element i of a vec16 holding 16 / sizeof(T) values of T, as F32; and the reverse.
template <typename T> __device__ __forceinline__ float vget(const vec16& v, int i);
template <> __device__ __forceinline__ float vget<float>(const vec16& v, int i) { return __uint_as_float(v.w[i]); }
template <> __device__ __forceinline__ float vget<f16>(const vec16& v, int i) { f16 h; h.x = (unsigned short) (v.w[i >> 1] >> (16 * (i & 1))); return to_f(h); }
template <> __device__ __forceinline__ float vget<bf16>(const vec16& v, int i) { bf16 h; h.x = (unsigned short) (v.w[i >> 1] >> (16 * (i & 1))); return to_f(h); }
template <typename T> __device__ __forceinline__ void vset(vec16& v, int i, float f);
template <> __device__ __forceinline__ void vset<float>(vec16& v, int i, float f) { v.w[i] = __float_as_uint(f); }
template <> __device__ __forceinline__ void vset<f16>(vec16& v, int i, float f) {
    unsigned h = from_f<f16>(f).x, sh = 16 * (i & 1);
    v.w[i >> 1] = (v.w[i >> 1] & ~(0xffffu << sh)) | (h << sh);
}
template <> __device__ __forceinline__ void vset<bf16>(vec16& v, int i, float f) {
    unsigned h = from_f<bf16>(f).x, sh = 16 * (i & 1);
    v.w[i >> 1] = (v.w[i >> 1] & ~(0xffffu << sh)) | (h << sh);
}

__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long) p & 15u) == 0; }

// 8 consecutive values at a 16-byte-aligned p, in F32: one 16-byte access for 16-bit types, two for F32.
template <typename T>
__device__ __forceinline__ void load8(const T* p, float* f) {
    const int V = 16 / sizeof(T);
    for (int h = 0; h < 8 / V; h++) {
        vec16 v = ((const vec16*) p)[h];
        for (int j = 0; j < V; j++) f[h * V + j] = vget<T>(v, j);
    }
}
template <typename T>
__device__ __forceinline__ void store8(T* p, const float* f) {
    const int V = 16 / sizeof(T);
    for (int h = 0; h < 8 / V; h++) {
        vec16 v = {};
        for (int j = 0; j < V; j++) vset<T>(v, j, f[h * V + j]);
        ((vec16*) p)[h] = v;
    }
}

// Instantiate a kernel template for each storage type: M(suffix, type).
#define FOR_EACH_TYPE(M) M(f32, float) M(f16, f16) M(bf16, bf16)
