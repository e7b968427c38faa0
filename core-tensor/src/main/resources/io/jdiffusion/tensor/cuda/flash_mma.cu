// Fused attention on tensor cores (flash-attention 2 style) for F16/BF16 storage and head sizes
// 64..128 (multiples of 16): softmax(q k^T * scale) v, no mask, without materialising the score
// matrix. A block of 4 warps owns 64 query rows of one (batch, head) (blockIdx.y = batch * heads +
// head); each warp owns 16 rows. Key/value tiles of 64 rows stream through shared memory (K as
// rows, V transposed so both mma B operands are two adjacent 16-bit values). Per tile a warp
// computes S = Q K^T with mma.sync.m16n8k16 (16-bit in, F32 accumulate), updates the running max
// and sum (online softmax: earlier terms rescaled by exp(m_old - m_new)), rounds P to the storage
// type and accumulates O += P V with mma again; P never leaves registers because the mma C
// fragment of S is exactly the A fragment of P (PTX ISA, "Matrix Fragments for mma.m16n8k16 with
// floating point type").
//
// q, k, v and o are addressed through (batch, head, row) element strides, so the kernel reads the
// projections' [B, S, H*D] layout directly (head stride D, row stride H*D) as well as [B, H, S, D].
// vec = 1 (k and v 16-byte aligned, their strides multiples of 8): K/V tiles load 16 bytes at a time.
//
// Every warp runs the same number of mma and shuffle steps whatever its rows (uniform control
// flow): the CPU emulator of the tests relies on it, and mma.sync needs the whole warp anyway.
#include "common.cuh"

#define FM_THREADS 128
#define FM_BQ 64
#define FM_BK 64

// mma_16816, pack2 and pack2f (and the fragment layouts they follow) are in common.cuh.


template <typename T, int D>
__device__ void flash_mma_k(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ o,
                            int sq, int sk, int heads, i64 qb, i64 qh, i64 qr, i64 kb, i64 kh, i64 kr,
                            i64 vb, i64 vh, i64 vr, i64 ob, i64 oh, i64 orow, float scale, int vec) {
    const int KS = D + 8, VS = FM_BK + 8;   // padded shared strides (fewer bank conflicts, still even)
    alignas(16) __shared__ unsigned short ks[FM_BK * (D + 8)];     // [key][d]
    __shared__ unsigned short vt[D * (FM_BK + 8)];                 // [d][key]

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const unsigned short* qp = (const unsigned short*) q + b * qb + h * qh;
    const unsigned short* kp = (const unsigned short*) k + b * kb + h * kh;
    const unsigned short* vp = (const unsigned short*) v + b * vb + h * vh;
    T* op = o + b * ob + h * oh;
    const int r0 = blockIdx.x * FM_BQ + warp * 16 + g, r1 = r0 + 8;

    // this thread's A fragments of its warp's 16 query rows, straight from global memory
    unsigned qa[D / 16][4];
#pragma unroll
    for (int kt = 0; kt < D / 16; kt++) {
        int c = kt * 16 + 2 * t;
        const unsigned short* p0 = qp + r0 * qr + c;
        const unsigned short* p1 = qp + r1 * qr + c;
        qa[kt][0] = r0 < sq ? pack2(p0[0], p0[1]) : 0u;
        qa[kt][1] = r1 < sq ? pack2(p1[0], p1[1]) : 0u;
        qa[kt][2] = r0 < sq ? pack2(p0[8], p0[9]) : 0u;
        qa[kt][3] = r1 < sq ? pack2(p1[8], p1[9]) : 0u;
    }
    float acc[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
    float m0 = NEG_INF, m1 = NEG_INF, l0 = 0.f, l1 = 0.f;   // rows r0 and r1; l is this thread's share

    for (int k0 = 0; k0 < sk; k0 += FM_BK) {
        __syncthreads();   // everyone is done with the previous tile
        if (vec) {   // 16-byte loads: 8 values of a key row per thread and step
            for (int i = tid; i < FM_BK * D / 8; i += FM_THREADS) {
                int j = i / (D / 8), dd = (i % (D / 8)) * 8, kj = k0 + j;
                vec16 kv = {{0u, 0u, 0u, 0u}}, vv = {{0u, 0u, 0u, 0u}};
                if (kj < sk) {
                    kv = *(const vec16*) (kp + kj * kr + dd);
                    vv = *(const vec16*) (vp + kj * vr + dd);
                }
                *(vec16*) (ks + j * KS + dd) = kv;
#pragma unroll
                for (int e = 0; e < 8; e++) vt[(dd + e) * VS + j] = (unsigned short) (vv.w[e >> 1] >> (16 * (e & 1)));
            }
        } else {
            for (int i = tid; i < FM_BK * D; i += FM_THREADS) {
                int j = i / D, dd = i % D, kj = k0 + j;
                ks[j * KS + dd] = kj < sk ? kp[kj * kr + dd] : (unsigned short) 0;
                vt[dd * VS + j] = kj < sk ? vp[kj * vr + dd] : (unsigned short) 0;
            }
        }
        __syncthreads();

        float s[FM_BK / 8][4];
#pragma unroll
        for (int n = 0; n < FM_BK / 8; n++) {
            s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
            const unsigned short* kr0 = ks + (n * 8 + g) * KS + 2 * t;
#pragma unroll
            for (int kt = 0; kt < D / 16; kt++) {
                unsigned bf[2] = {pack2(kr0[kt * 16], kr0[kt * 16 + 1]), pack2(kr0[kt * 16 + 8], kr0[kt * 16 + 9])};
                mma_16816(s[n], qa[kt], bf, T{});
            }
        }
        float mx0 = NEG_INF, mx1 = NEG_INF;
#pragma unroll
        for (int n = 0; n < FM_BK / 8; n++) {
            int kj = k0 + n * 8 + 2 * t;
            s[n][0] = kj < sk ? s[n][0] * scale : NEG_INF;
            s[n][1] = kj + 1 < sk ? s[n][1] * scale : NEG_INF;
            s[n][2] = kj < sk ? s[n][2] * scale : NEG_INF;
            s[n][3] = kj + 1 < sk ? s[n][3] * scale : NEG_INF;
            mx0 = fmaxf(mx0, fmaxf(s[n][0], s[n][1]));
            mx1 = fmaxf(mx1, fmaxf(s[n][2], s[n][3]));
        }
        // the 4 lanes of a quad hold the same two rows
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        // key k0 < sk is valid, so the new max is finite
        float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
        float a0 = expf(m0 - n0), a1 = expf(m1 - n1);
        m0 = n0;
        m1 = n1;
        l0 *= a0;
        l1 *= a1;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            acc[n][0] *= a0; acc[n][1] *= a0; acc[n][2] *= a1; acc[n][3] *= a1;
        }
#pragma unroll
        for (int n = 0; n < FM_BK / 8; n++) {
            s[n][0] = expf(s[n][0] - n0); s[n][1] = expf(s[n][1] - n0);
            s[n][2] = expf(s[n][2] - n1); s[n][3] = expf(s[n][3] - n1);
            l0 += s[n][0] + s[n][1];
            l1 += s[n][2] + s[n][3];
        }
        // O += P V: the C fragments of S n-tiles 2kt and 2kt+1 form the A fragment of P's k-tile kt
#pragma unroll
        for (int kt = 0; kt < FM_BK / 16; kt++) {
            unsigned pa[4] = {pack2f<T>(s[2 * kt][0], s[2 * kt][1]), pack2f<T>(s[2 * kt][2], s[2 * kt][3]),
                              pack2f<T>(s[2 * kt + 1][0], s[2 * kt + 1][1]), pack2f<T>(s[2 * kt + 1][2], s[2 * kt + 1][3])};
#pragma unroll
            for (int n = 0; n < D / 8; n++) {
                const unsigned short* vr0 = vt + (n * 8 + g) * VS + kt * 16 + 2 * t;
                unsigned bf[2] = {pack2(vr0[0], vr0[1]), pack2(vr0[8], vr0[9])};
                mma_16816(acc[n], pa, bf, T{});
            }
        }
    }
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    float i0 = l0 > 0.f ? 1.f / l0 : 0.f, i1 = l1 > 0.f ? 1.f / l1 : 0.f;
#pragma unroll
    for (int n = 0; n < D / 8; n++) {
        int c = n * 8 + 2 * t;
        if (r0 < sq) { op[r0 * orow + c] = from_f<T>(acc[n][0] * i0); op[r0 * orow + c + 1] = from_f<T>(acc[n][1] * i0); }
        if (r1 < sq) { op[r1 * orow + c] = from_f<T>(acc[n][2] * i1); op[r1 * orow + c + 1] = from_f<T>(acc[n][3] * i1); }
    }
}

#define FM_KERNEL(s, T, D) \
    extern "C" __global__ void __launch_bounds__(FM_THREADS) flash_mma_##s##_d##D(const T* q, const T* k, const T* v, T* o, int sq, int sk, int heads, \
            i64 qb, i64 qh, i64 qr, i64 kb, i64 kh, i64 kr, i64 vb, i64 vh, i64 vr, i64 ob, i64 oh, i64 orow, float scale, int vec) { \
        flash_mma_k<T, D>(q, k, v, o, sq, sk, heads, qb, qh, qr, kb, kh, kr, vb, vh, vr, ob, oh, orow, scale, vec); }
#define FM_TYPE(s, T) FM_KERNEL(s, T, 64) FM_KERNEL(s, T, 80) FM_KERNEL(s, T, 96) FM_KERNEL(s, T, 112) FM_KERNEL(s, T, 128)
FM_TYPE(f16, f16)
FM_TYPE(bf16, bf16)

// Probe of the hardware's (or emulator's) mma fragment layout, with no layout knowledge of its
// own: lane l passes a[8l .. 8l+7] and b[4l .. 4l+3] (raw 16-bit values) as its A and B fragment
// elements and writes its four D elements to d[4l .. 4l+3]. The caller arranges matrices by the
// documented layout and checks D = A B; the runtime self-check and the layout test use it.
#define FM_PROBE(s, T) \
    extern "C" __global__ void mma_probe_##s(const unsigned short* a, const unsigned short* b, float* d) { \
        int l = threadIdx.x & 31; \
        unsigned ar[4], br[2]; \
        for (int i = 0; i < 4; i++) ar[i] = pack2(a[8 * l + 2 * i], a[8 * l + 2 * i + 1]); \
        for (int i = 0; i < 2; i++) br[i] = pack2(b[4 * l + 2 * i], b[4 * l + 2 * i + 1]); \
        float acc[4] = {0.f, 0.f, 0.f, 0.f}; \
        mma_16816(acc, ar, br, T{}); \
        for (int i = 0; i < 4; i++) d[4 * l + i] = acc[i]; }
FM_PROBE(f16, f16)
FM_PROBE(bf16, bf16)
