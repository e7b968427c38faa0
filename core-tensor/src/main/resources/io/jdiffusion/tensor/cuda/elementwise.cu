// Elementwise kernels: casts, fills, unary activations, broadcasting binary ops, GEGLU, channel bias.
#include "common.cuh"

#define GRID_STRIDE(i, n) for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) blockDim.x * gridDim.x)

template <typename A, typename B>
__device__ void cast_k(const A* __restrict__ x, B* __restrict__ y, i64 n) {
    GRID_STRIDE(i, n) y[i] = from_f<B>(to_f(x[i]));
}
#define CAST(sa, ta, sb, tb) \
    extern "C" __global__ void cast_##sa##_##sb(const ta* x, tb* y, i64 n) { cast_k<ta, tb>(x, y, n); }
CAST(f32, float, f16, f16) CAST(f32, float, bf16, bf16) CAST(f16, f16, f32, float)
CAST(f16, f16, bf16, bf16) CAST(bf16, bf16, f32, float) CAST(bf16, bf16, f16, f16)

template <typename T>
__device__ void fill_k(T* __restrict__ y, i64 n, float v) {
    T t = from_f<T>(v);
    GRID_STRIDE(i, n) y[i] = t;
}

// op: 0 silu, 1 gelu (erf), 2 quick_gelu, 3 exp, 4 affine x*a+b, 5 clamp to [a, b]
template <typename T>
__device__ void unary_k(const T* __restrict__ x, T* __restrict__ y, i64 n, int op, float a, float b) {
    GRID_STRIDE(i, n) {
        float v = to_f(x[i]), r;
        switch (op) {
            case 0: r = silu_f(v); break;
            case 1: r = gelu_f(v); break;
            case 2: r = v / (1.f + expf(-1.702f * v)); break;
            case 3: r = expf(v); break;
            case 4: r = v * a + b; break;
            default: r = fminf(fmaxf(v, a), b); break;
        }
        y[i] = from_f<T>(r);
    }
}

// op: 0 add, 1 sub, 2 mul, 3 div; numpy broadcasting through strides in Index6
template <typename T>
__device__ void binary_k(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, i64 n, int op, Index6 ix) {
    GRID_STRIDE(i, n) {
        i64 ia = i, ib = i;
        if (!ix.contiguous) {
            ia = 0; ib = 0;
            i64 rem = i;
            for (int d = ix.rank - 1; d >= 0; d--) {
                i64 c = rem % ix.shape[d];
                rem /= ix.shape[d];
                ia += c * ix.sa[d];
                ib += c * ix.sb[d];
            }
        }
        float u = to_f(a[ia]), v = to_f(b[ib]), r;
        switch (op) {
            case 0: r = u + v; break;
            case 1: r = u - v; break;
            case 2: r = u * v; break;
            default: r = u / v; break;
        }
        y[i] = from_f<T>(r);
    }
}

// x[rows, 2d] -> y[rows, d] = x[:, :d] * gelu(x[:, d:])
template <typename T>
__device__ void geglu_k(const T* __restrict__ x, T* __restrict__ y, i64 rows, int d) {
    GRID_STRIDE(i, rows * d) {
        i64 r = i / d, c = i % d;
        float h = to_f(x[r * 2 * d + c]), g = to_f(x[r * 2 * d + d + c]);
        y[i] = from_f<T>(h * gelu_f(g));
    }
}

// y[i] += bias[(i / inner) % channels] (+ res[i / res_inner]): conv bias (inner = H*W) and row bias
// (inner = 1); bias or res may be null. res in the same pass, rounded once: a residual branch's final
// add (res_inner = 1) or a per-image, per-channel addend of a convolution (res [N, C], res_inner = H*W)
template <typename T>
__device__ void add_bias_k(T* __restrict__ y, const T* __restrict__ bias, const T* __restrict__ res, i64 res_inner, i64 n,
                           int channels, i64 inner) {
    GRID_STRIDE(i, n) {
        float v = to_f(y[i]);
        if (bias) v += to_f(bias[(i / inner) % channels]);
        if (res) v += to_f(res[i / res_inner]);
        y[i] = from_f<T>(v);
    }
}

#define ELEMENTWISE(s, T) \
    extern "C" __global__ void fill_##s(T* y, i64 n, float v) { fill_k<T>(y, n, v); } \
    extern "C" __global__ void unary_##s(const T* x, T* y, i64 n, int op, float a, float b) { unary_k<T>(x, y, n, op, a, b); } \
    extern "C" __global__ void binary_##s(const T* a, const T* b, T* y, i64 n, int op, Index6 ix) { binary_k<T>(a, b, y, n, op, ix); } \
    extern "C" __global__ void geglu_##s(const T* x, T* y, i64 rows, int d) { geglu_k<T>(x, y, rows, d); } \
    extern "C" __global__ void add_bias_##s(T* y, const T* bias, const T* res, i64 res_inner, i64 n, int channels, i64 inner) { \
        add_bias_k<T>(y, bias, res, res_inner, n, channels, inner); }
FOR_EACH_TYPE(ELEMENTWISE)
