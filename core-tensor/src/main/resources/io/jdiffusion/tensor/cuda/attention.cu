// Fused attention (flash-attention style): softmax(q k^T * scale [+ causal mask]) v without ever
// materialising the Sq x Sk score matrix. A block of 128 threads owns BQ = 16 query rows of one
// (batch, head); it streams key/value tiles of BK rows through shared memory and keeps, per
// query row, the running max m, the running sum l and the unnormalised output in registers
// (online softmax: when the max grows, earlier terms are rescaled by exp(m_old - m_new)).
// Thread t works on row t / 8 and on columns t % 8, t % 8 + 8, ...; the 8 threads of a row are
// adjacent lanes of one warp, so row reductions are three shuffles.
// Scores and accumulation are F32 whatever the storage type.
#include "common.cuh"

#define BQ 16
#define THREADS 128

// Row qi's output (when it is a real row): acc / l, a row that saw no key giving 0; each thread
// writes its columns c, c + 8, ... below dv.
template <typename T, int DMAX>
__device__ __forceinline__ void store_row(T* ob, int qi, int sq, int dv, int c, const float* acc, float l) {
    if (qi >= sq) return;
    float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int i = 0; i < DMAX / 8; i++) {
        int dd = c + 8 * i;
        if (dd < dv) ob[(i64) qi * dv + dd] = from_f<T>(acc[i] * inv);
    }
}

template <typename T, int DMAX, int BK>
__device__ void flash_attn_k(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ o,
                             int sq, int sk, int d, int dv, float scale, int causal) {
    JD_DYNAMIC_SHARED(float, smem);
    const int QS = DMAX + 1, KS = DMAX + 1, PS = BK + 1;   // padded strides: no bank conflicts
    float* qs = smem;                  // [BQ][QS], pre-scaled
    float* ks = qs + BQ * QS;          // [BK][KS]
    float* vs = ks + BK * KS;          // [BK][KS]
    float* ps = vs + BK * KS;          // [BQ][PS] probabilities of the current tile

    const int tid = threadIdx.x, r = tid >> 3, c = tid & 7;
    const i64 bh = blockIdx.y;
    const int q0 = blockIdx.x * BQ;
    const int qi = q0 + r;
    const T* qb = q + bh * (i64) sq * d;
    const T* kb = k + bh * (i64) sk * d;
    const T* vb = v + bh * (i64) sk * dv;
    T* ob = o + bh * (i64) sq * dv;

    for (int i = tid; i < BQ * DMAX; i += THREADS) {
        int rr = i / DMAX, dd = i % DMAX;
        qs[rr * QS + dd] = (q0 + rr < sq && dd < d) ? to_f(qb[(i64) (q0 + rr) * d + dd]) * scale : 0.f;
    }
    float acc[DMAX / 8];
#pragma unroll
    for (int i = 0; i < DMAX / 8; i++) acc[i] = 0.f;
    float m = NEG_INF, l = 0.f;

    // with the causal mask no row of this block looks past key q0 + BQ - 1
    const int kend = causal ? (q0 + BQ < sk ? q0 + BQ : sk) : sk;
    for (int k0 = 0; k0 < kend; k0 += BK) {
        __syncthreads();   // everyone is done with the previous tile
        for (int i = tid; i < BK * DMAX; i += THREADS) {
            int j = i / DMAX, dd = i % DMAX, kj = k0 + j;
            ks[j * KS + dd] = (kj < sk && dd < d) ? to_f(kb[(i64) kj * d + dd]) : 0.f;
            vs[j * KS + dd] = (kj < sk && dd < dv) ? to_f(vb[(i64) kj * dv + dd]) : 0.f;
        }
        __syncthreads();

        float s[BK / 8];
        float tmax = NEG_INF;
#pragma unroll
        for (int t = 0; t < BK / 8; t++) {
            int j = c + 8 * t, kj = k0 + j;
            float dot = 0.f;
            for (int dd = 0; dd < d; dd++) dot += qs[r * QS + dd] * ks[j * KS + dd];
            bool valid = kj < sk && (!causal || kj <= qi);
            s[t] = valid ? dot : NEG_INF;
            tmax = fmaxf(tmax, s[t]);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 4));
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 2));
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        float mnew = fmaxf(m, tmax);
        // a row with no valid key yet keeps everything at zero (exp(-inf) = 0 below)
        float base = mnew == NEG_INF ? 0.f : mnew;
        float alpha = expf(m - base);
        float psum = 0.f;
#pragma unroll
        for (int t = 0; t < BK / 8; t++) {
            float p = expf(s[t] - base);
            ps[r * PS + c + 8 * t] = p;
            psum += p;
        }
        psum += __shfl_xor_sync(0xffffffffu, psum, 4);
        psum += __shfl_xor_sync(0xffffffffu, psum, 2);
        psum += __shfl_xor_sync(0xffffffffu, psum, 1);
        l = l * alpha + psum;
        m = mnew;
        __syncwarp();      // the row's probabilities come from lanes of this same warp
#pragma unroll
        for (int i = 0; i < DMAX / 8; i++) {
            int dd = c + 8 * i;
            float a = acc[i] * alpha;
            for (int j = 0; j < BK; j++) a += ps[r * PS + j] * vs[j * KS + dd];
            acc[i] = a;
        }
    }
    store_row<T, DMAX>(ob, qi, sq, dv, c, acc, l);
}

// Head sizes above 256 (the SDXL VAE's mid-block attention: one head of 512 channels). A query
// tile in shared memory would not fit beside the K/V tiles in 48 KiB, so each thread keeps its own
// slice of its query row in registers (columns c, c + 8, ...) and a score is the sum of the 8
// lanes' partial dot products (three xor-shuffles: every lane of the row gets the same sum, so
// all 8 agree on the max and the mask). Only K and V tiles live in shared memory.
template <typename T, int DMAX, int BK>
__device__ void flash_attn_wide_k(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ o,
                                  int sq, int sk, int d, int dv, float scale, int causal) {
    JD_DYNAMIC_SHARED(float, smem);
    const int KS = DMAX + 1;
    float* ks = smem;                  // [BK][KS]
    float* vs = ks + BK * KS;          // [BK][KS]

    const int tid = threadIdx.x, r = tid >> 3, c = tid & 7;
    const i64 bh = blockIdx.y;
    const int q0 = blockIdx.x * BQ;
    const int qi = q0 + r;
    const T* qb = q + bh * (i64) sq * d;
    const T* kb = k + bh * (i64) sk * d;
    const T* vb = v + bh * (i64) sk * dv;
    T* ob = o + bh * (i64) sq * dv;

    float qr[DMAX / 8], acc[DMAX / 8];
#pragma unroll
    for (int i = 0; i < DMAX / 8; i++) {
        int dd = c + 8 * i;
        qr[i] = (qi < sq && dd < d) ? to_f(qb[(i64) qi * d + dd]) * scale : 0.f;
        acc[i] = 0.f;
    }
    float m = NEG_INF, l = 0.f;

    const int kend = causal ? (q0 + BQ < sk ? q0 + BQ : sk) : sk;
    for (int k0 = 0; k0 < kend; k0 += BK) {
        __syncthreads();
        for (int i = tid; i < BK * DMAX; i += THREADS) {
            int j = i / DMAX, dd = i % DMAX, kj = k0 + j;
            ks[j * KS + dd] = (kj < sk && dd < d) ? to_f(kb[(i64) kj * d + dd]) : 0.f;
            vs[j * KS + dd] = (kj < sk && dd < dv) ? to_f(vb[(i64) kj * dv + dd]) : 0.f;
        }
        __syncthreads();

        float s[BK];
        float tmax = NEG_INF;
#pragma unroll
        for (int j = 0; j < BK; j++) {
            float part = 0.f;
#pragma unroll
            for (int i = 0; i < DMAX / 8; i++) part += qr[i] * ks[j * KS + c + 8 * i];
            part += __shfl_xor_sync(0xffffffffu, part, 4);
            part += __shfl_xor_sync(0xffffffffu, part, 2);
            part += __shfl_xor_sync(0xffffffffu, part, 1);
            int kj = k0 + j;
            bool valid = kj < sk && (!causal || kj <= qi);
            s[j] = valid ? part : NEG_INF;
            tmax = fmaxf(tmax, s[j]);
        }
        float mnew = fmaxf(m, tmax);
        float base = mnew == NEG_INF ? 0.f : mnew;
        float alpha = expf(m - base);
        float psum = 0.f;
#pragma unroll
        for (int j = 0; j < BK; j++) {
            s[j] = expf(s[j] - base);
            psum += s[j];
        }
        l = l * alpha + psum;
        m = mnew;
#pragma unroll
        for (int i = 0; i < DMAX / 8; i++) {
            int dd = c + 8 * i;
            float a = acc[i] * alpha;
            for (int j = 0; j < BK; j++) a += s[j] * vs[j * KS + dd];
            acc[i] = a;
        }
    }
    store_row<T, DMAX>(ob, qi, sq, dv, c, acc, l);
}

// Tile depth per head-size bucket, keeping shared memory under the 48 KiB a launch gets without opt-in.
#define ATTN(s, T) \
    extern "C" __global__ void __launch_bounds__(THREADS) flash_attn_##s##_d32(const T* q, const T* k, const T* v, T* o, int sq, int sk, int d, int dv, float scale, int causal) { \
        flash_attn_k<T, 32, 64>(q, k, v, o, sq, sk, d, dv, scale, causal); } \
    extern "C" __global__ void __launch_bounds__(THREADS) flash_attn_##s##_d64(const T* q, const T* k, const T* v, T* o, int sq, int sk, int d, int dv, float scale, int causal) { \
        flash_attn_k<T, 64, 64>(q, k, v, o, sq, sk, d, dv, scale, causal); } \
    extern "C" __global__ void __launch_bounds__(THREADS) flash_attn_##s##_d128(const T* q, const T* k, const T* v, T* o, int sq, int sk, int d, int dv, float scale, int causal) { \
        flash_attn_k<T, 128, 32>(q, k, v, o, sq, sk, d, dv, scale, causal); } \
    extern "C" __global__ void __launch_bounds__(THREADS) flash_attn_##s##_d256(const T* q, const T* k, const T* v, T* o, int sq, int sk, int d, int dv, float scale, int causal) { \
        flash_attn_k<T, 256, 8>(q, k, v, o, sq, sk, d, dv, scale, causal); } \
    extern "C" __global__ void __launch_bounds__(THREADS) flash_attn_##s##_d512(const T* q, const T* k, const T* v, T* o, int sq, int sk, int d, int dv, float scale, int causal) { \
        flash_attn_wide_k<T, 512, 8>(q, k, v, o, sq, sk, d, dv, scale, causal); }
FOR_EACH_TYPE(ATTN)
