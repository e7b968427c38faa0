// Data movement: permutes, row-block copies (concat/narrow), nearest 2x upsampling, embedding
// gathers and im2col for convolutions.
#include "common.cuh"

#define GRID_STRIDE(i, n) for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) blockDim.x * gridDim.x)

// y (contiguous, shape ix.shape) gathers x through strides ix.sa (the permuted source strides)
template <typename T>
__device__ void permute_k(const T* __restrict__ x, T* __restrict__ y, i64 n, Index6 ix) {
    GRID_STRIDE(i, n) {
        i64 src = 0, rem = i;
        for (int d = ix.rank - 1; d >= 0; d--) {
            src += (rem % ix.shape[d]) * ix.sa[d];
            rem /= ix.shape[d];
        }
        y[i] = x[src];
    }
}

// for o < outer, j < len: dst[o * dst_stride + dst_off + j] = src[o * src_stride + src_off + j]
template <typename T>
__device__ void copy_rows_k(const T* __restrict__ src, T* __restrict__ dst, i64 outer, i64 len,
                            i64 src_stride, i64 src_off, i64 dst_stride, i64 dst_off) {
    GRID_STRIDE(i, outer * len) {
        i64 o = i / len, j = i % len;
        dst[o * dst_stride + dst_off + j] = src[o * src_stride + src_off + j];
    }
}

template <typename T>
__device__ void upsample2x_k(const T* __restrict__ x, T* __restrict__ y, i64 planes, int h, int w) {
    i64 w2 = 2 * w, plane = 4 * (i64) h * w;
    GRID_STRIDE(i, planes * plane) {
        i64 p = i / plane, r = i % plane;
        i64 yy = r / w2, xx = r % w2;
        y[i] = x[p * h * w + (yy / 2) * w + xx / 2];
    }
}

template <typename T>
__device__ void embedding_k(const T* __restrict__ table, const int* __restrict__ ids, T* __restrict__ y, int n, int d) {
    GRID_STRIDE(i, (i64) n * d) {
        i64 r = i / d, c = i % d;
        y[i] = table[(i64) ids[r] * d + c];
    }
}

// Images x[nb][C, H, W] (nb of them, x_stride apart) -> col[nb][C*kh*kw, npix] for output pixels
// [pix0, pix0 + npix) (zero padding): the right operands of the convolution as one strided-batched
// GEMM over the images, in pixel chunks to bound the buffer's size.
template <typename T>
__device__ void im2col_k(const T* __restrict__ x, T* __restrict__ col, int nb, i64 x_stride, int c, int h, int w, int kh, int kw,
                         int stride, int pad, int ho, int wo, i64 pix0, i64 npix) {
    const i64 per_image = (i64) c * kh * kw * npix;
    GRID_STRIDE(i, nb * per_image) {
        i64 b = i / per_image, j = i % per_image;
        i64 row = j / npix, pix = pix0 + j % npix;
        int ci = (int) (row / (kh * kw)), k = (int) (row % (kh * kw)), ky = k / kw, kx = k % kw;
        int oy = (int) (pix / wo), ox = (int) (pix % wo);
        int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
        col[i] = (iy < 0 || iy >= h || ix < 0 || ix >= w) ? from_f<T>(0.f) : x[b * x_stride + ((i64) ci * h + iy) * w + ix];
    }
}

#define SHAPE(s, T) \
    extern "C" __global__ void permute_##s(const T* x, T* y, i64 n, Index6 ix) { permute_k<T>(x, y, n, ix); } \
    extern "C" __global__ void copy_rows_##s(const T* src, T* dst, i64 outer, i64 len, i64 src_stride, i64 src_off, \
                                             i64 dst_stride, i64 dst_off) { \
        copy_rows_k<T>(src, dst, outer, len, src_stride, src_off, dst_stride, dst_off); } \
    extern "C" __global__ void upsample2x_##s(const T* x, T* y, i64 planes, int h, int w) { upsample2x_k<T>(x, y, planes, h, w); } \
    extern "C" __global__ void embedding_##s(const T* table, const int* ids, T* y, int n, int d) { embedding_k<T>(table, ids, y, n, d); } \
    extern "C" __global__ void im2col_##s(const T* x, T* col, int nb, i64 x_stride, int c, int h, int w, int kh, int kw, int stride, \
                                          int pad, int ho, int wo, i64 pix0, i64 npix) { \
        im2col_k<T>(x, col, nb, x_stride, c, h, w, kh, kw, stride, pad, ho, wo, pix0, npix); }
FOR_EACH_TYPE(SHAPE)
