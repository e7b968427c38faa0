// Elementwise kernels: casts, fills, unary activations, broadcasting binary ops, GEGLU, channel bias.
// Vectorised where the operands allow: 8 values per thread and step through 16-byte loads and
// stores (two for F32) when every pointer is 16-byte aligned (whole tensors are; views at odd
// offsets are not), the last n % 8 values one by one. The host sizes the grid for n / 8 threads;
// every kernel is correct for any grid (grid-stride loops), so the scalar paths need no other launch.
#include "common.cuh"

#define GRID_STRIDE(i, n) for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) blockDim.x * gridDim.x)
// pack k covers values 8k .. 8k+7
#define PACKS(k, n) GRID_STRIDE(k, (n) / 8)
// the values from `from` on, one by one
#define TAIL(i, from, n) for (i64 i = (from) + (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) blockDim.x * gridDim.x)

// y[i] = f(x[i]) for a contiguous x and y (A in, B out)
template <typename A, typename B, typename F>
__device__ __forceinline__ void map_k(const A* __restrict__ x, B* __restrict__ y, i64 n, F f) {
    i64 from = 0;
    if (aligned16(x) && aligned16(y)) {
        PACKS(k, n) {
            float v[8];
            load8(x + 8 * k, v);
            for (int j = 0; j < 8; j++) v[j] = f(v[j]);
            store8(y + 8 * k, v);
        }
        from = n / 8 * 8;
    }
    TAIL(i, from, n) y[i] = from_f<B>(f(to_f(x[i])));
}

template <typename A, typename B>
__device__ void cast_k(const A* __restrict__ x, B* __restrict__ y, i64 n) {
    map_k(x, y, n, [](float v) { return v; });
}
#define CAST(sa, ta, sb, tb) \
    extern "C" __global__ void cast_##sa##_##sb(const ta* x, tb* y, i64 n) { cast_k<ta, tb>(x, y, n); }
CAST(f32, float, f16, f16) CAST(f32, float, bf16, bf16) CAST(f16, f16, f32, float)
CAST(f16, f16, bf16, bf16) CAST(bf16, bf16, f32, float) CAST(bf16, bf16, f16, f16)

template <typename T>
__device__ void fill_k(T* __restrict__ y, i64 n, float v) {
    i64 from = 0;
    if (aligned16(y)) {
        float f[8] = {v, v, v, v, v, v, v, v};
        PACKS(k, n) store8(y + 8 * k, f);
        from = n / 8 * 8;
    }
    T t = from_f<T>(v);
    TAIL(i, from, n) y[i] = t;
}

// op: 0 silu, 1 gelu (erf), 2 quick_gelu, 3 exp, 4 affine x*a+b, 5 clamp to [a, b]
template <typename T>
__device__ void unary_k(const T* __restrict__ x, T* __restrict__ y, i64 n, int op, float a, float b) {
    map_k(x, y, n, [=](float v) {
        switch (op) {
            case 0: return silu_f(v);
            case 1: return gelu_f(v);
            case 2: return v / (1.f + expf(-1.702f * v));
            case 3: return expf(v);
            case 4: return v * a + b;
            default: return fminf(fmaxf(v, a), b);
        }
    });
}

__device__ __forceinline__ float binary_f(int op, float u, float v) {
    switch (op) {
        case 0: return u + v;
        case 1: return u - v;
        case 2: return u * v;
        default: return u / v;
    }
}

// op: 0 add, 1 sub, 2 mul, 3 div; numpy broadcasting through strides in Index6 (vectorised only
// when both operands have the output's shape)
template <typename T>
__device__ void binary_k(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, i64 n, int op, Index6 ix) {
    i64 from = 0;
    if (ix.contiguous && aligned16(a) && aligned16(b) && aligned16(y)) {
        PACKS(k, n) {
            float u[8], v[8];
            load8(a + 8 * k, u);
            load8(b + 8 * k, v);
            for (int j = 0; j < 8; j++) u[j] = binary_f(op, u[j], v[j]);
            store8(y + 8 * k, u);
        }
        from = n / 8 * 8;
    }
    TAIL(i, from, n) {
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
        y[i] = from_f<T>(binary_f(op, to_f(a[ia]), to_f(b[ib])));
    }
}

// x[rows, 2d] -> y[rows, d] = x[:, :d] * gelu(x[:, d:]); by packs when d is a multiple of 8
template <typename T>
__device__ void geglu_k(const T* __restrict__ x, T* __restrict__ y, i64 rows, int d) {
    i64 n = rows * d, from = 0;
    if (d % 8 == 0 && aligned16(x) && aligned16(y)) {
        PACKS(k, n) {
            i64 r = 8 * k / d, c = 8 * k % d;
            float h[8], g[8];
            load8(x + r * 2 * d + c, h);
            load8(x + r * 2 * d + d + c, g);
            for (int j = 0; j < 8; j++) h[j] *= gelu_f(g[j]);
            store8(y + 8 * k, h);
        }
        from = n;
    }
    TAIL(i, from, n) {
        i64 r = i / d, c = i % d;
        float h = to_f(x[r * 2 * d + c]), g = to_f(x[r * 2 * d + d + c]);
        y[i] = from_f<T>(h * gelu_f(g));
    }
}

// y[i] += bias[(i / inner) % channels] (+ res[i / res_inner]): conv bias (inner = H*W) and row bias
// (inner = 1); bias or res may be null. res in the same pass, rounded once: a residual branch's final
// add (res_inner = 1) or a per-image, per-channel addend of a convolution (res [N, C], res_inner = H*W).
// By packs when each pack of 8 sees one bias value (inner % 8 == 0) or 8 consecutive ones (inner 1,
// channels % 8 == 0), and one res value (res_inner % 8 == 0) or 8 consecutive ones (res_inner 1).
template <typename T>
__device__ void add_bias_k(T* __restrict__ y, const T* __restrict__ bias, const T* __restrict__ res, i64 res_inner, i64 n,
                           int channels, i64 inner) {
    bool biasRow = inner == 1 && channels % 8 == 0 && aligned16(bias), resRow = res_inner == 1 && aligned16(res);
    bool vec = aligned16(y) && (!bias || inner % 8 == 0 || biasRow) && (!res || res_inner % 8 == 0 || resRow);
    i64 from = 0;
    if (vec) {
        PACKS(k, n) {
            i64 i = 8 * k;
            float v[8], bv[8], rv[8];
            load8(y + i, v);
            if (bias && biasRow) load8(bias + i % channels, bv);
            else if (bias) for (int j = 0; j < 8; j++) bv[j] = to_f(bias[(i / inner) % channels]);
            if (res && resRow) load8(res + i, rv);
            else if (res) for (int j = 0; j < 8; j++) rv[j] = to_f(res[i / res_inner]);
            for (int j = 0; j < 8; j++) v[j] += (bias ? bv[j] : 0.f) + (res ? rv[j] : 0.f);
            store8(y + i, v);
        }
        from = n / 8 * 8;
    }
    TAIL(i, from, n) {
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
