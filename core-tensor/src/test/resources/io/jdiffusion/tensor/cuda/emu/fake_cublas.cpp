// cuBLAS and cuBLASLt (built as libcublas.so.13 and libcublasLt.so.13) for tests on machines
// without a GPU: reference column-major GEMMs over the emulated (host) device memory, with
// cuBLAS's exact argument semantics, in F32 accumulation for F32/F16/BF16 data.
// While the stream of a call captures (CUDA graphs), the call is recorded in the emulated driver's
// graph (jdemu_capture, in fake_cuda.cpp) with its scalars and descriptors copied, as cuBLAS's
// kernels and host-pointer alpha/beta are, and runs when the graph is launched.
#include <dlfcn.h>
#include <functional>
#include <string>
#include <thread>
#include <vector>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#define JD_EMULATE 1
static float h2f(uint16_t h) {
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { int e = -1; do { e++; man <<= 1; } while (!(man & 0x400)); bits = sign | ((uint32_t) (112 - e) << 23) | ((man & 0x3ff) << 13); }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float f; std::memcpy(&f, &bits, 4); return f;
}
static uint16_t f2h(float f) {
    uint32_t x; std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t) (sign | 0x7e00u);
    if (ax >= 0x477ff000u) return (uint16_t) (sign | 0x7c00u);
    if (ax < 0x38800000u) {
        float a; std::memcpy(&a, &ax, 4);
        double v = (double) a * 16777216.0, fl = std::floor(v), d = v - fl;
        uint32_t q = (uint32_t) fl;
        if (d > 0.5 || (d == 0.5 && (q & 1u))) q++;
        return (uint16_t) (sign | q);
    }
    uint32_t e = (ax >> 23) - 112, m = ax & 0x7fffffu, h = (e << 10) | (m >> 13), rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t) (sign | h);
}
static float b2f(uint16_t b) { uint32_t x = (uint32_t) b << 16; float f; std::memcpy(&f, &x, 4); return f; }
static uint16_t f2b(float f) {
    uint32_t x; std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((x >> 16) | 0x40u);
    return (uint16_t) ((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}
static float ld(const void* p, int type, int64_t i) {
    switch (type) {
        case 0: return ((const float*) p)[i];
        case 2: return h2f(((const uint16_t*) p)[i]);
        default: return b2f(((const uint16_t*) p)[i]);
    }
}
static void st(void* p, int type, int64_t i, float v) {
    switch (type) {
        case 0: ((float*) p)[i] = v; break;
        case 2: ((uint16_t*) p)[i] = f2h(v); break;
        default: ((uint16_t*) p)[i] = f2b(v);
    }
}
static int64_t size(int type) { return type == 0 ? 4 : 2; }
static bool typeOk(int t) { return t == 0 || t == 2 || t == 14; }

// rows x k values of op(X) as rows of length k, widened to F32: element (r, p) is X[p + r * ld] when
// `contiguous` (each row lies along the column-major storage), else X[r + p * ld]. In 64 x 64 tiles with
// the type switch outside the loops: this runs over every weight of a full-size model per GEMM.
template <typename Load> static void widen_tiles(Load load, bool contiguous, int rows, int k, int ld, float* out) {
    const int T = 64;
    for (int r0 = 0; r0 < rows; r0 += T)
        for (int p0 = 0; p0 < k; p0 += T) {
            int r1 = std::min(rows, r0 + T), p1 = std::min(k, p0 + T);
            if (contiguous) {
                for (int r = r0; r < r1; r++)
                    for (int p = p0; p < p1; p++) out[(size_t) r * k + p] = load(p + (int64_t) r * ld);
            } else {
                for (int p = p0; p < p1; p++)
                    for (int r = r0; r < r1; r++) out[(size_t) r * k + p] = load(r + (int64_t) p * ld);
            }
        }
}
static void widen(const void* X, int type, bool contiguous, int rows, int k, int ld, float* out) {
    switch (type) {
        case 0: widen_tiles([X](int64_t i) { return ((const float*) X)[i]; }, contiguous, rows, k, ld, out); break;
        case 2: widen_tiles([X](int64_t i) { return h2f(((const uint16_t*) X)[i]); }, contiguous, rows, k, ld, out); break;
        default: widen_tiles([X](int64_t i) { return b2f(((const uint16_t*) X)[i]); }, contiguous, rows, k, ld, out);
    }
}

// column-major C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C
// (+ bias[i] and tanh-GELU when given, applied before the single rounding to C's type, like an epilogue)
static int gemm(int ta, int tb, int m, int n, int k, float alpha, const void* A, int at, int lda, const void* B, int bt, int ldb,
                float beta, void* C, int ct, int ldc, const void* bias = nullptr, bool gelu = false, const void* Cin = nullptr) {
    if (!typeOk(at) || !typeOk(bt) || !typeOk(ct) || m < 0 || n < 0 || k < 0) return 7;
    if (ldc < (m > 1 ? m : 1) || lda < ((ta == 0 ? m : k) > 1 ? (ta == 0 ? m : k) : 1) || ldb < ((tb == 0 ? k : n) > 1 ? (tb == 0 ? k : n) : 1)) return 7;
    // op(A) as rows and op(B) as columns, widened to F32 once, so the inner loop is a contiguous
    // dot product (8 partial sums: the compiler vectorises it); columns are split over threads,
    // which the full-size model tests need to finish in CI time
    std::vector<float> a((size_t) m * k), b((size_t) n * k);
    widen(A, at, ta != 0, m, k, lda, a.data());
    widen(B, bt, tb == 0, n, k, ldb, b.data());
    auto columns = [&](int j0, int j1) {
        for (int j = j0; j < j1; j++) {
            const float* bj = b.data() + (size_t) j * k;
            for (int i = 0; i < m; i++) {
                const float* ai = a.data() + (size_t) i * k;
                float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                int p = 0;
                for (; p + 8 <= k; p += 8)
                    for (int u = 0; u < 8; u++) acc[u] += ai[p + u] * bj[p + u];
                float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
                for (; p < k; p++) s += ai[p] * bj[p];
                float c = beta == 0 ? 0 : beta * ld(Cin ? Cin : C, ct, i + (int64_t) j * ldc);
                float v = alpha * s + c;
                if (bias) v += ld(bias, ct, i);
                if (gelu) v = 0.5f * v * (1 + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v)));
                st(C, ct, i + (int64_t) j * ldc, v);
            }
        }
    };
    unsigned hw = std::thread::hardware_concurrency();
    int threads = (double) m * n * k < 1e6 || hw < 2 ? 1 : (int) std::min<unsigned>(hw, 8);
    if (threads == 1 || n < threads) { columns(0, n); return 0; }
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) pool.emplace_back(columns, (int) ((int64_t) n * t / threads), (int) ((int64_t) n * (t + 1) / threads));
    for (auto& th : pool) th.join();
    return 0;
}

struct Desc { int transa = 0, transb = 0, epilogue = 1; const void* bias = nullptr; };

// the driver's jdemu_capture, from the libcuda.so.1 loaded beside this library
typedef int (*CaptureFn)(void*, int (*)(void*), void*, void (*)(void*));
static CaptureFn capture_fn() {
    static CaptureFn fn = [] {
        Dl_info info;
        void* h = nullptr;
        if (dladdr((void*) &capture_fn, &info) && info.dli_fname) {
            std::string dir = info.dli_fname;
            dir = dir.substr(0, dir.rfind('/') + 1);
            h = dlopen((dir + "libcuda.so.1").c_str(), RTLD_NOW | RTLD_NOLOAD);
        }
        return (CaptureFn) (h ? dlsym(h, "jdemu_capture") : dlsym(RTLD_DEFAULT, "jdemu_capture"));
    }();
    return fn;
}
// runs `call` now, or records it when `stream` captures
static int run_or_record(void* stream, std::function<int()> call) {
    CaptureFn capture = capture_fn();
    if (capture) {
        auto* held = new std::function<int()>(call);
        if (capture(stream, [](void* c) { return (*(std::function<int()>*) c)(); }, held,
                    [](void* c) { delete (std::function<int()>*) c; })) return 0;
    }
    return call();
}
struct Handle { void* stream = nullptr; };   // cublasSetStream's stream, per handle (each backend has its own)
struct Layout { int type; uint64_t rows, cols; int64_t ld; };

extern "C" {
const char* cublasGetStatusName(int rc) { return rc == 0 ? "CUBLAS_STATUS_SUCCESS" : rc == 7 ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_NOT_SUPPORTED"; }
const char* cublasGetStatusString(int rc) { return rc == 0 ? "success" : "emulated cuBLAS refused the call"; }
const char* cublasLtGetStatusName(int rc) { return cublasGetStatusName(rc); }
const char* cublasLtGetStatusString(int rc) { return cublasGetStatusString(rc); }
int cublasCreate_v2(void** h) { *h = new Handle(); return 0; }
int cublasDestroy_v2(void* h) { delete (Handle*) h; return 0; }
int cublasSetStream_v2(void* h, void* s) { ((Handle*) h)->stream = s; return 0; }
int cublasGemmEx(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const void* A, int at, int lda, const void* B, int bt,
                 int ldb, const float* beta, void* C, int ct, int ldc, int compute, int) {
    if (compute != 68) return 15;
    float al = *alpha, be = *beta;
    return run_or_record(((Handle*) h)->stream, [=] { return gemm(ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, C, ct, ldc); });
}
int cublasGemmStridedBatchedEx(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const void* A, int at, int lda, long long sa,
                               const void* B, int bt, int ldb, long long sb, const float* beta, void* C, int ct, int ldc, long long sc,
                               int batch, int compute, int) {
    if (compute != 68 || batch < 0) return 15;
    float al = *alpha, be = *beta;
    return run_or_record(((Handle*) h)->stream, [=] {
        for (int i = 0; i < batch; i++) {
            int rc = gemm(ta, tb, m, n, k, al, (const char*) A + i * sa * size(at), at, lda, (const char*) B + i * sb * size(bt), bt, ldb,
                          be, (char*) C + i * sc * size(ct), ct, ldc);
            if (rc) return rc;
        }
        return 0;
    });
}
size_t cublasLtGetVersion() { return 130000; }
int cublasLtCreate(void** h) { static int x; *h = &x; return 0; }
int cublasLtDestroy(void*) { return 0; }
int cublasLtMatmulDescCreate(Desc** d, int compute, int scale) { if (compute != 68 || scale != 0) return 15; *d = new Desc(); return 0; }
int cublasLtMatmulDescDestroy(Desc* d) { delete d; return 0; }
int cublasLtMatmulDescSetAttribute(Desc* d, int attr, const void* buf, size_t n) {
    switch (attr) {
        case 3: if (n != 4) return 7; std::memcpy(&d->transa, buf, 4); return 0;
        case 4: if (n != 4) return 7; std::memcpy(&d->transb, buf, 4); return 0;
        case 7: if (n != 4) return 7; std::memcpy(&d->epilogue, buf, 4); return 0;
        case 8: if (n != 8) return 7; std::memcpy(&d->bias, buf, 8); return 0;
        default: return 7;
    }
}
int cublasLtMatrixLayoutCreate(Layout** l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (!typeOk(type) || ld < (int64_t) rows) return 7;
    *l = new Layout{type, rows, cols, ld};
    return 0;
}
int cublasLtMatrixLayoutDestroy(Layout* l) { delete l; return 0; }
int cublasLtMatmulPreferenceCreate(void** p) { *p = new uint64_t(0); return 0; }
int cublasLtMatmulPreferenceDestroy(void* p) { delete (uint64_t*) p; return 0; }
int cublasLtMatmulPreferenceSetAttribute(void* p, int attr, const void* buf, size_t n) {
    if (attr != 1 || n != 8) return 7;
    std::memcpy(p, buf, 8);
    return 0;
}
int cublasLtMatmulAlgoGetHeuristic(void*, Desc*, Layout* a, Layout* b, Layout* c, Layout* d, void*, int want, void* results, int* got) {
    if (want < 1) return 7;
    // cuBLASLt wants 16-byte aligned leading dimensions for 16-bit types; mimic its refusal
    if (a->type != 0 && (a->ld % 8 || b->ld % 8 || c->ld % 8)) { *got = 0; return 15; }
    std::memset(results, 0, 96);
    *got = 1;
    (void) d;
    return 0;
}
int cublasLtMatmul(void*, Desc* desc, const float* alpha, const void* A, Layout* al, const void* B, Layout* bl, const float* beta,
                   const void* C, Layout* cl, void* D, Layout* dl, const void* algo, void*, size_t, void* stream) {
    if (!algo) return 7;
    int m = (int) dl->rows, n = (int) dl->cols, k = (int) (desc->transa == 0 ? al->cols : al->rows);
    int kb = (int) (desc->transb == 0 ? bl->rows : bl->cols);
    if (k != kb || cl->rows != dl->rows || cl->cols != dl->cols) return 7;
    // cuBLASLt reads C (beta != 0) and writes D; they may differ when C and D have the same layout
    if (C != D && *beta != 0 && (cl->type != dl->type || cl->ld != dl->ld)) return 7;
    bool bias = desc->epilogue == 4 || desc->epilogue == 36, gelu = desc->epilogue == 32 || desc->epilogue == 36;
    if (bias && !desc->bias) return 7;
    Desc dc = *desc;
    Layout a = *al, b = *bl, d = *dl;
    float alv = *alpha, bev = *beta;
    return run_or_record(stream, [=] {
        return gemm(dc.transa, dc.transb, m, n, k, alv, A, a.type, (int) a.ld, B, b.type, (int) b.ld, bev, D, d.type,
                    (int) d.ld, bias ? dc.bias : nullptr, gelu, C);
    });
}
}
