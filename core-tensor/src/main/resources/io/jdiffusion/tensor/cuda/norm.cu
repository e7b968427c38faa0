// Row reductions: softmax, LayerNorm, GroupNorm (+SiLU), sum over a dimension. One block per
// row or group; statistics in F32 with two passes (mean, then centred variance) like the CPU
// reference, so no catastrophic cancellation on large means.
#include "common.cuh"

template <typename T>
__device__ void softmax_k(const T* __restrict__ x, T* __restrict__ y, int d) {
    __shared__ float scratch[32];
    const T* row = x + (i64) blockIdx.x * d;
    T* out = y + (i64) blockIdx.x * d;
    float m = NEG_INF;
    for (int i = threadIdx.x; i < d; i += blockDim.x) m = fmaxf(m, to_f(row[i]));
    m = block_max(m, scratch);
    float s = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) s += expf(to_f(row[i]) - m);
    s = block_sum(s, scratch);
    float inv = 1.f / s;
    for (int i = threadIdx.x; i < d; i += blockDim.x) out[i] = from_f<T>(expf(to_f(row[i]) - m) * inv);
}

template <typename T>
__device__ void layernorm_k(const T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ b, T* __restrict__ y,
                            int d, float eps, int has_beta) {
    __shared__ float scratch[32];
    const T* row = x + (i64) blockIdx.x * d;
    T* out = y + (i64) blockIdx.x * d;
    float s = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) s += to_f(row[i]);
    float mean = block_sum(s, scratch) / d;
    float v = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) { float t = to_f(row[i]) - mean; v += t * t; }
    float inv = rsqrtf(block_sum(v, scratch) / d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float r = (to_f(row[i]) - mean) * inv * to_f(g[i]);
        if (has_beta) r += to_f(b[i]);
        out[i] = from_f<T>(r);
    }
}

// x[N, C, spatial]; block (n, group) normalises cpg*spatial contiguous values
template <typename T>
__device__ void groupnorm_k(const T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ b, T* __restrict__ y,
                            int channels, int groups, i64 spatial, float eps, int silu) {
    __shared__ float scratch[32];
    int cpg = channels / groups;
    int grp = blockIdx.x % groups;
    i64 size = (i64) cpg * spatial;
    i64 base = (i64) blockIdx.x * size;
    float s = 0.f;
    for (i64 i = threadIdx.x; i < size; i += blockDim.x) s += to_f(x[base + i]);
    float mean = block_sum(s, scratch) / (float) size;
    float v = 0.f;
    for (i64 i = threadIdx.x; i < size; i += blockDim.x) { float t = to_f(x[base + i]) - mean; v += t * t; }
    float inv = rsqrtf(block_sum(v, scratch) / (float) size + eps);
    for (i64 i = threadIdx.x; i < size; i += blockDim.x) {
        int c = grp * cpg + (int) (i / spatial);
        float r = (to_f(x[base + i]) - mean) * inv * to_f(g[c]) + to_f(b[c]);
        if (silu) r = silu_f(r);
        y[base + i] = from_f<T>(r);
    }
}

// x viewed as [outer, len, inner] summed over len; one thread per output element
template <typename T>
__device__ void sum_k(const T* __restrict__ x, T* __restrict__ y, i64 outer, int len, i64 inner) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < outer * inner; i += (i64) blockDim.x * gridDim.x) {
        i64 o = i / inner, in = i % inner;
        const T* p = x + o * len * inner + in;
        float acc = 0.f, comp = 0.f;   // Kahan: long sums stay close to the CPU's double accumulation
        for (int j = 0; j < len; j++) {
            float t = to_f(p[(i64) j * inner]) - comp;
            float s = acc + t;
            comp = (s - acc) - t;
            acc = s;
        }
        y[i] = from_f<T>(acc);
    }
}

#define NORM(s, T) \
    extern "C" __global__ void softmax_##s(const T* x, T* y, int d) { softmax_k<T>(x, y, d); } \
    extern "C" __global__ void layernorm_##s(const T* x, const T* g, const T* b, T* y, int d, float eps, int has_beta) { \
        layernorm_k<T>(x, g, b, y, d, eps, has_beta); } \
    extern "C" __global__ void groupnorm_##s(const T* x, const T* g, const T* b, T* y, int channels, int groups, i64 spatial, \
                                             float eps, int silu) { groupnorm_k<T>(x, g, b, y, channels, groups, spatial, eps, silu); } \
    extern "C" __global__ void sum_##s(const T* x, T* y, i64 outer, int len, i64 inner) { sum_k<T>(x, y, outer, len, inner); }
FOR_EACH_TYPE(NORM)
