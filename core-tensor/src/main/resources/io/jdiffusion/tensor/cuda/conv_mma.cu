// 2D convolution (NCHW) as an implicit GEMM on tensor cores, F16/BF16 storage, F32 accumulation:
//   y[n, o, p] = sum_k w[o, k] col[n, k, p] + bias[o] + addend
// with k = (ci, ky, kx) in the order of w's [O, C, kh, kw] layout (so w is the row-major [O, K]
// A matrix, K = C kh kw) and p = (oy, ox) an output pixel. The im2col matrix col never exists:
// each B tile is gathered from x while it is loaded into shared memory (the address arithmetic
// of im2col_k in shape.cu: iy = oy stride - pad + ky, zero outside the image). One launch per
// convolution; the epilogue adds the bias and the addend (a full residual [N, O, Ho, Wo], or
// res_per_channel: one value per image and channel, [N, O, 1, 1]) and rounds once.
//
// A block of 4 warps computes a 64 (output channels) x 64 (pixels of one image) tile of y; each
// warp a 32 x 32 quarter as 2 x 4 mma.sync.m16n8k16 tiles (fragment layouts in common.cuh).
// K advances 32 at a time through shared memory; the next slice's global loads are issued into
// registers before the current slice's mma (a register-staged double buffer). Shared tiles are
// stored k-contiguous ([o][k] and [p][k], rows padded by 8 values against bank conflicts) so an
// A or B fragment register is one 32-bit shared load of two adjacent k. Any K (zero-filled past
// its end), any channel and pixel counts (bounds-checked loads and stores).
//
// grid: x = images * pixel tiles (image = blockIdx.x / pixel tiles), y = output-channel tiles.
// vec_w = 1 (K a multiple of 8, w 16-byte aligned): weight rows load 16 bytes at a time.
// mma.sync needs its whole warp: the only branches around it are warp-uniform (16 x 8 sub-tiles
// wholly outside the output are skipped), and every thread reaches every barrier.
#include "common.cuh"

#define CM_THREADS 128
#define CM_BM 64          // output channels per block
#define CM_BN 64          // output pixels per block
#define CM_BK 32          // reduction values per shared tile
#define CM_LDW 20         // shared row stride in 32-bit words: 32 values + 8 padding

// KH, KW: the kernel size at compile time (1 or 3, divisions by constants), or 0: kh_, kw_ at run time
template <typename T, int KH, int KW>
__device__ void conv_mma_k(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias, const T* __restrict__ res,
                           T* __restrict__ y, int c, int h, int wd, int o, int kh_, int kw_, int stride, int pad, int ho, int wo,
                           int res_per_channel, int vec_w) {
    __shared__ vec16 as_v[CM_BM * CM_LDW / 4];   // [o][k] as words of two values
    __shared__ vec16 bs_v[CM_BN * CM_LDW / 4];   // [p][k]
    unsigned* as = (unsigned*) as_v;
    unsigned* bs = (unsigned*) bs_v;

    const int kh = KH ? KH : kh_, kw = KW ? KW : kw_, kk = kh * kw, K = c * kk, P = ho * wo;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int ptiles = (P + CM_BN - 1) / CM_BN, n = blockIdx.x / ptiles;
    const int p0 = (blockIdx.x % ptiles) * CM_BN, o0 = blockIdx.y * CM_BM;
    const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;   // this warp's quarter of the tile
    const int mrows = o - o0, ncols = P - p0;                 // channels and pixels left from the tile's corner

    // A loads: row ar of the tile, 16 values from column ak; B loads: pixel bp, 16 values from row bk
    const int ar = tid >> 1, ak = (tid & 1) * 16, bp = tid & (CM_BN - 1), bk = (tid >> 6) * 16;
    const unsigned short* wrow = (const unsigned short*) w + (i64) (o0 + ar) * K;
    const bool arow = o0 + ar < o;
    const unsigned short* ximg = (const unsigned short*) x + (i64) n * c * h * wd;
    const int pix = p0 + bp, oy = pix / wo, ox = pix % wo;
    const bool bpix = pix < P;
    const int iy0 = oy * stride - pad, ix0 = ox * stride - pad;

    unsigned ra[8], rb[8];   // the next slice's 16 A and 16 B values, two per register
    auto load = [&](int k0) {
        int ka = k0 + ak;
        if (vec_w && arow && ka < K) {   // K % 8 == 0: the 16 values are all in or all out in halves of 8
            vec16 v0 = *(const vec16*) (wrow + ka), v1 = {{0u, 0u, 0u, 0u}};
            if (ka + 8 < K) v1 = *(const vec16*) (wrow + ka + 8);
#pragma unroll
            for (int i = 0; i < 4; i++) { ra[i] = v0.w[i]; ra[4 + i] = v1.w[i]; }
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                unsigned short lo = arow && ka + 2 * i < K ? wrow[ka + 2 * i] : (unsigned short) 0;
                unsigned short hi = arow && ka + 2 * i + 1 < K ? wrow[ka + 2 * i + 1] : (unsigned short) 0;
                ra[i] = pack2(lo, hi);
            }
        }
        // the im2col gather: row kb = (ci, ky, kx) stepped incrementally, one division per slice
        int kb = k0 + bk, ci = kb / kk, r = kb - ci * kk, ky = r / kw, kx = r - ky * kw;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            unsigned short v2[2];
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int iy = iy0 + ky, ix = ix0 + kx;
                bool in = bpix && kb + 2 * i + e < K && iy >= 0 && iy < h && ix >= 0 && ix < wd;
                v2[e] = in ? ximg[((i64) ci * h + iy) * wd + ix] : (unsigned short) 0;
                if (++kx == kw) {
                    kx = 0;
                    if (++ky == kh) { ky = 0; ci++; }
                }
            }
            rb[i] = pack2(v2[0], v2[1]);
        }
    };

    float acc[2][4][4];
#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int ni = 0; ni < 4; ni++) acc[mi][ni][0] = acc[mi][ni][1] = acc[mi][ni][2] = acc[mi][ni][3] = 0.f;

    load(0);
    for (int k0 = 0; k0 < K; k0 += CM_BK) {
        vec16* sa = (vec16*) (as + ar * CM_LDW + ak / 2);
        vec16* sb = (vec16*) (bs + bp * CM_LDW + bk / 2);
        sa[0] = vec16{{ra[0], ra[1], ra[2], ra[3]}};
        sa[1] = vec16{{ra[4], ra[5], ra[6], ra[7]}};
        sb[0] = vec16{{rb[0], rb[1], rb[2], rb[3]}};
        sb[1] = vec16{{rb[4], rb[5], rb[6], rb[7]}};
        __syncthreads();
        if (k0 + CM_BK < K) load(k0 + CM_BK);   // in flight while the tensor cores work
#pragma unroll
        for (int ks = 0; ks < CM_BK / 2; ks += 8) {   // two k16 steps, in words
            unsigned af[2][4], bf[4][2];
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                const unsigned* a0 = as + (wm + mi * 16 + g) * CM_LDW + ks + t;
                af[mi][0] = a0[0];
                af[mi][1] = a0[8 * CM_LDW];
                af[mi][2] = a0[4];
                af[mi][3] = a0[8 * CM_LDW + 4];
            }
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
                const unsigned* b0 = bs + (wn + ni * 8 + g) * CM_LDW + ks + t;
                bf[ni][0] = b0[0];
                bf[ni][1] = b0[4];
            }
            // sub-tiles wholly past the last channel or pixel are skipped (warp-uniform: ragged edges, small images)
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++)
                    if (wm + mi * 16 < mrows && wn + ni * 8 < ncols) mma_16816(acc[mi][ni], af[mi], bf[ni], T{});
        }
        __syncthreads();   // everyone is done with this slice before the next overwrites it
    }

    // epilogue: c_i at channel row g + 8 (i / 2), pixel column 2t + (i % 2)
    const i64 plane = (i64) n * o;
#pragma unroll
    for (int mi = 0; mi < 2; mi++) {
#pragma unroll
        for (int hi = 0; hi < 2; hi++) {
            int oc = o0 + wm + mi * 16 + g + 8 * hi;
            if (oc >= o) continue;
            float add = bias ? to_f(bias[oc]) : 0.f;
            if (res && res_per_channel) add += to_f(res[plane + oc]);
            T* yrow = y + (plane + oc) * P;
            const T* rrow = res && !res_per_channel ? res + (plane + oc) * P : nullptr;
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int p = p0 + wn + ni * 8 + 2 * t + e;
                    if (p >= P) continue;
                    float v = acc[mi][ni][2 * hi + e] + add;
                    if (rrow) v += to_f(rrow[p]);
                    yrow[p] = from_f<T>(v);
                }
            }
        }
    }
}

#define CM_KERNEL(s, T, name, KH, KW) \
    extern "C" __global__ void __launch_bounds__(CM_THREADS) conv_mma_##s##_##name(const T* x, const T* w, const T* bias, const T* res, T* y, \
            int c, int h, int wd, int o, int kh, int kw, int stride, int pad, int ho, int wo, int res_per_channel, int vec_w) { \
        conv_mma_k<T, KH, KW>(x, w, bias, res, y, c, h, wd, o, kh, kw, stride, pad, ho, wo, res_per_channel, vec_w); }
#define CM_TYPE(s, T) CM_KERNEL(s, T, k1, 1, 1) CM_KERNEL(s, T, k3, 3, 3) CM_KERNEL(s, T, kn, 0, 0)
CM_TYPE(f16, f16)
CM_TYPE(bf16, bf16)
