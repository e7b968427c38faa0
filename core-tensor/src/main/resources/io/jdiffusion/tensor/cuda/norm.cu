// Row reductions: softmax, LayerNorm, GroupNorm (+SiLU), sum over a dimension. One block per
// row or group (large groups: several blocks each, partial statistics merged); statistics in F32
// with two passes (mean, then centred variance) like the CPU reference, so no catastrophic
// cancellation on large means.
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

// Mean and centred sum of squares of p[start, end) over the block: two passes (mean, then the
// squares about it), 8 values per load where `vec` (start and end multiples of 8, p 16-byte aligned).
template <typename T>
__device__ __forceinline__ void slice_stats(const T* __restrict__ p, i64 start, i64 end, bool vec, float* scratch, float& mean, float& m2) {
    float s = 0.f, f[8];
    if (vec) {
        for (i64 i = start + threadIdx.x * 8; i < end; i += blockDim.x * 8) { load8(p + i, f); for (int j = 0; j < 8; j++) s += f[j]; }
    } else {
        for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) s += to_f(p[i]);
    }
    mean = block_sum(s, scratch) / (float) (end - start);
    float v = 0.f;
    if (vec) {
        for (i64 i = start + threadIdx.x * 8; i < end; i += blockDim.x * 8) {
            load8(p + i, f);
            for (int j = 0; j < 8; j++) { float t = f[j] - mean; v += t * t; }
        }
    } else {
        for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) { float t = to_f(p[i]) - mean; v += t * t; }
    }
    m2 = block_sum(v, scratch);
}

// One block per row. Rows of a multiple of 8 values at 16-byte-aligned addresses (every LayerNorm
// of the SDXL models) are read and written 8 values per thread at a time; others value by value.
template <typename T>
__device__ void layernorm_k(const T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ b, T* __restrict__ y,
                            int d, float eps, int has_beta) {
    __shared__ float scratch[32];
    const T* row = x + (i64) blockIdx.x * d;
    T* out = y + (i64) blockIdx.x * d;
    bool vec = d % 8 == 0 && aligned16(x) && aligned16(y) && aligned16(g) && (!has_beta || aligned16(b));
    float mean, m2;
    slice_stats(row, 0, d, vec, scratch, mean, m2);
    float inv = rsqrtf(m2 / d + eps);
    if (vec) {
        float f[8], gg[8], bb[8];
        for (int i = threadIdx.x * 8; i < d; i += blockDim.x * 8) {
            load8(row + i, f);
            load8(g + i, gg);
            if (has_beta) load8(b + i, bb);
            for (int j = 0; j < 8; j++) f[j] = (f[j] - mean) * inv * gg[j] + (has_beta ? bb[j] : 0.f);
            store8(out + i, f);
        }
        return;
    }
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float r = (to_f(row[i]) - mean) * inv * to_f(g[i]);
        if (has_beta) r += to_f(b[i]);
        out[i] = from_f<T>(r);
    }
}

// Where value i of group gi (of a [N, C, spatial] input) goes: the same place, or with `tokens` the
// [N, spatial, C] layout a Transformer2DModel's proj_in reads (norm and permute in one pass).
__device__ __forceinline__ i64 groupnorm_out(i64 gi, i64 i, int groups, int cpg, i64 spatial, int tokens) {
    if (!tokens) return gi * cpg * spatial + i;
    i64 n = gi / groups;
    int c = (int) (gi % groups) * cpg + (int) (i / spatial);
    return (n * spatial + i % spatial) * (i64) groups * cpg + c;
}

// x[N, C, spatial]; block (n, group) normalises cpg*spatial contiguous values (groups of at most
// GROUP_NORM_SPLIT_ABOVE values; larger ones take groupnorm_stats + groupnorm_apply), reading 8 values
// per load where the group size is a multiple of 8 and x 16-byte aligned
template <typename T>
__device__ void groupnorm_k(const T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ b, T* __restrict__ y,
                            int channels, int groups, i64 spatial, float eps, int silu, int tokens) {
    __shared__ float scratch[32];
    int cpg = channels / groups;
    int grp = blockIdx.x % groups;
    i64 size = (i64) cpg * spatial;
    i64 base = (i64) blockIdx.x * size;
    float mean, m2;
    slice_stats(x + base, 0, size, size % 8 == 0 && aligned16(x), scratch, mean, m2);
    float inv = rsqrtf(m2 / (float) size + eps);
    for (i64 i = threadIdx.x; i < size; i += blockDim.x) {
        int c = grp * cpg + (int) (i / spatial);
        float r = (to_f(x[base + i]) - mean) * inv * to_f(g[c]) + to_f(b[c]);
        if (silu) r = silu_f(r);
        y[groupnorm_out(blockIdx.x, i, groups, cpg, spatial, tokens)] = from_f<T>(r);
    }
}

// GroupNorm of large groups (the SDXL UNet's: up to 10 channels x 128 x 128 per group), split so
// that N * groups * splits blocks fill the GPU instead of N * groups (64 at batch 2):
// groupnorm_stats: block (group, split) writes {count, mean, centred sum of squares} of its slice
// of `chunk` values (two passes over a slice that stays in cache; 8 values per load where the
// group size is a multiple of 8 and x 16-byte aligned);
// groupnorm_apply: block (group, split) merges its group's partials (Chan et al.'s pairwise
// formula, exact in exact arithmetic and free of cancellation) and normalises its slice, 16 bytes
// per load and store where `vec` says the slice and channel boundaries allow it. With `tokens` a
// block takes a range of pixels across the group's channels instead, through a shared-memory tile
// (dynamic: cpg rows of ceil(spatial / splits) | 1 floats, an odd pitch so that reading a column
// hits 32 different banks): read along each channel's row, written along each pixel's run of cpg
// channels, so both sides touch consecutive addresses.
template <typename T>
__device__ void groupnorm_stats_k(const T* __restrict__ x, float* __restrict__ part, i64 size, int chunk, int splits) {
    __shared__ float scratch[32];
    i64 grp = blockIdx.x / splits, sp = blockIdx.x % splits;
    i64 start = sp * (i64) chunk, end = start + chunk < size ? start + chunk : size;
    const T* p = x + grp * size;
    float mean, m2;
    slice_stats(p, start, end, size % 8 == 0 && chunk % 8 == 0 && aligned16(x), scratch, mean, m2);
    if (threadIdx.x == 0) { part[3 * blockIdx.x] = (float) (end - start); part[3 * blockIdx.x + 1] = mean; part[3 * blockIdx.x + 2] = m2; }
}

template <typename T>
__device__ void groupnorm_apply_k(const T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ b, const float* __restrict__ part,
                                  T* __restrict__ y, int channels, int groups, i64 spatial, int chunk, int splits, float eps, int silu,
                                  int vec, int tokens) {
    __shared__ float stats[2];
    i64 gi = blockIdx.x / splits, sp = blockIdx.x % splits;
    int cpg = channels / groups, grp = (int) (gi % groups);
    i64 size = (i64) cpg * spatial;
    if (threadIdx.x == 0) {
        const float* q = part + 3 * gi * splits;
        float n = q[0], mean = q[1], m2 = q[2];
        for (int i = 1; i < splits; i++) {
            float nb = q[3 * i], d = q[3 * i + 1] - mean, nn = n + nb;
            mean += d * (nb / nn);
            m2 += q[3 * i + 2] + d * d * (n * (nb / nn));
            n = nn;
        }
        stats[0] = mean;
        stats[1] = rsqrtf(m2 / n + eps);
    }
    __syncthreads();
    const float mean = stats[0], inv = stats[1];
    const T* p = x + gi * size;
    if (tokens) {
        JD_DYNAMIC_SHARED(float, tile);
        i64 per = (spatial + splits - 1) / splits, s0 = sp * per, s1 = s0 + per < spatial ? s0 + per : spatial;
        i64 len = s1 > s0 ? s1 - s0 : 0, pitch = len | 1, n = gi / groups;
        for (i64 k = threadIdx.x; k < cpg * len; k += blockDim.x) {   // tile[c][s]: channel rows
            int c = (int) (k / len);
            i64 s = k % len;
            float r = (to_f(p[c * spatial + s0 + s]) - mean) * inv * to_f(g[grp * cpg + c]) + to_f(b[grp * cpg + c]);
            tile[c * pitch + s] = silu ? silu_f(r) : r;
        }
        __syncthreads();
        for (i64 k = threadIdx.x; k < cpg * len; k += blockDim.x) {   // y[n, s, grp*cpg + c]: pixel runs
            i64 s = k / cpg;
            int c = (int) (k % cpg);
            y[(n * spatial + s0 + s) * channels + grp * cpg + c] = from_f<T>(tile[c * pitch + s]);
        }
        return;
    }
    i64 start = sp * (i64) chunk, end = start + chunk < size ? start + chunk : size;
    if (vec) {   // 16-byte aligned slices, spatial a multiple of the vector: one channel per vector
        const int V = 16 / sizeof(T);
        for (i64 i = start + (i64) threadIdx.x * V; i < end; i += (i64) blockDim.x * V) {
            int c = grp * cpg + (int) (i / spatial);
            float ga = to_f(g[c]) * inv, be = to_f(b[c]);
            vec16 in = *(const vec16*) (p + i), out;
            for (int j = 0; j < V; j++) {
                float r = (vget<T>(in, j) - mean) * ga + be;
                vset<T>(out, j, silu ? silu_f(r) : r);
            }
            *(vec16*) (y + gi * size + i) = out;
        }
    } else {
        for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
            int c = grp * cpg + (int) (i / spatial);
            float r = (to_f(p[i]) - mean) * inv * to_f(g[c]) + to_f(b[c]);
            y[gi * size + i] = from_f<T>(silu ? silu_f(r) : r);
        }
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
            float eps, int silu, int tokens) { groupnorm_k<T>(x, g, b, y, channels, groups, spatial, eps, silu, tokens); } \
    extern "C" __global__ void groupnorm_stats_##s(const T* x, float* part, i64 size, int chunk, int splits) { \
        groupnorm_stats_k<T>(x, part, size, chunk, splits); } \
    extern "C" __global__ void groupnorm_apply_##s(const T* x, const T* g, const T* b, const float* part, T* y, int channels, int groups, \
            i64 spatial, int chunk, int splits, float eps, int silu, int vec, int tokens) { \
        groupnorm_apply_k<T>(x, g, b, part, y, channels, groups, spatial, chunk, splits, eps, silu, vec, tokens); } \
    extern "C" __global__ void sum_##s(const T* x, T* y, i64 outer, int len, i64 inner) { sum_k<T>(x, y, outer, len, inner); }
FOR_EACH_TYPE(NORM)
