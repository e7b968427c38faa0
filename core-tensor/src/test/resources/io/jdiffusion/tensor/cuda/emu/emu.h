// CPU emulation of the CUDA C subset our kernels use, force-included (g++ -include emu.h) when
// the fake NVRTC of the tests compiles a kernel source into a shared library. Each CUDA thread
// of a block is a fiber (its own stack, switched by jd_switch) on one OS thread; __syncthreads, the
// shuffles and mma switch to the next fiber. __syncthreads is a real barrier (a fiber waits there
// until every live thread of the block has arrived); shuffles and mma rely on the lanes of a warp
// running in step, as a warp does. jd_launch_blocks runs a range of a launch's blocks one after
// another; the fake driver (fake_cuda.cpp) splits a launch's blocks over several OS threads, each
// calling it for its share. So everything a block's fibers use (the fibers, the scheduler, block and
// thread indices, barrier and mma state, __shared__ and dynamic shared memory) is per OS thread
// (thread_local; the fibers' stacks come from the driver, one set per OS thread): one block runs on
// one OS thread from start to end, as on one SM.
// Blocks of a launch share nothing else (the kernels use no atomics and no cross-block flags), so a
// block's result does not depend on which OS thread ran it or when. Not a GPU: it checks indexing,
// tiling, reductions and the host code's launches, not timing or races.
#pragma once
#define JD_EMULATE 1
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <vector>

#ifndef __global__
#define __global__
#endif
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(x)
// per OS thread: each worker of a launch runs its own blocks, each needs its own shared memory
#define __shared__ static thread_local

struct jd_dim3 { unsigned x, y, z; };

// Fibers switch with jd_switch, not swapcontext: swapcontext saves and restores the signal mask with
// a system call on every switch, which was half of the emulator's time on the full-size models.
// jd_switch saves the callee-saved registers, MXCSR and the x87 control word on the current stack,
// stores the stack pointer in *save and continues on the stack `load` (the System V x86-64 ABI:
// everything else is caller-saved, so a call to jd_switch is all a switch needs).
extern "C" void jd_switch(void** save, void* load);
asm(R"(
    .text
    .globl jd_switch
    .hidden jd_switch
    .type jd_switch, @function
jd_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size jd_switch, .-jd_switch
)");

struct jd_fiber { void* sp; jd_dim3 tid; bool done; };
// The block being run on this OS thread: its fibers, the scheduler's saved stack pointer, the fiber running.
static thread_local jd_fiber jd_fibers[1024];
static thread_local int jd_cur;
static thread_local void* jd_sched;
static thread_local jd_dim3 blockIdx, blockDim, gridDim;
static thread_local unsigned char* jd_dynamic;
static thread_local float jd_xchg[1024];
static thread_local void (*jd_entry)(void**);
static thread_local void** jd_params;
#define threadIdx (jd_fibers[jd_cur].tid)
#define JD_DYNAMIC_SHARED(T, name) T* name = (T*) jd_dynamic

#ifdef JD_NO_BARRIERS
// the fake NVRTC found no synchronisation in this source: threads run one after another (see jd_launch)
static inline void jd_yield() { std::abort(); }
#else
static inline void jd_yield() { jd_switch(&jd_fibers[jd_cur].sp, jd_sched); }
#endif
// A fiber at __syncthreads waits until every live thread of the block has arrived; jd_launch releases
// them together at the end of a round, so they leave in the same round, in step as they arrived.
// Between barriers warps may yield different numbers of times (a warp-uniform branch around mma).
static thread_local int jd_bar_arrived;
static thread_local unsigned char jd_bar_wait[1024];
static inline void __syncthreads() {
    int t = jd_cur;
    jd_bar_wait[t] = 1;
    jd_bar_arrived++;
    do jd_yield(); while (jd_bar_wait[t]);
}
static inline void __syncwarp(unsigned = 0xffffffffu) { jd_yield(); }
static inline int jd_tid() { return (int) (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }
static inline float __shfl_xor_sync(unsigned, float v, int mask) {
    int t = jd_tid();
    jd_xchg[t] = v;
    jd_yield();
    float r = jd_xchg[t ^ mask];
    jd_yield();
    return r;
}
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }
static inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

// IEEE binary16 <-> binary32, round to nearest even (what cvt.rn.f16.f32 does)
static inline float jd_half_to_float(unsigned short h) {
    unsigned sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((unsigned) (127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    return __uint_as_float(bits);
}
static inline unsigned short jd_float_to_half(float f) {
    unsigned x = __float_as_uint(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (unsigned short) (sign | 0x7e00u);
    if (ax >= 0x477ff000u) return (unsigned short) (sign | 0x7c00u);          // rounds to >= 65520: inf
    if (ax < 0x38800000u) {                                                   // subnormal half or zero
        double v = (double) __uint_as_float(ax) * 16777216.0;                 // in units of 2^-24
        double fl = std::floor(v), d = v - fl;
        unsigned q = (unsigned) fl;
        if (d > 0.5 || (d == 0.5 && (q & 1u))) q++;
        return (unsigned short) (sign | q);
    }
    unsigned e = (ax >> 23) - 112, m = ax & 0x7fffffu;
    unsigned h = (e << 10) | (m >> 13), rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (unsigned short) (sign | h);
}

// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32, a warp-collective: every lane
// publishes its A and B fragment registers and where its four C/D elements are, then yields; the
// warp's first lane to run again places the 32 lanes' fragments into a 16x16 A, a 16x8 B and a
// 16x8 C by the PTX ISA's documented layouts ("Matrix Fragments for mma.m16n8k16 with floating
// point type"; g = lane / 4, t = lane % 4):
//   A 16x16: a_i at row g + 8 * ((i / 2) % 2), column 2t + (i % 2) + 8 * (i / 4), four .b32 registers
//   B 16x8:  b_i at row 2t + (i % 2) + 8 * (i / 2), column g, two .b32 registers
//   C/D 16x8: c_i at row g + 8 * (i / 2), column 2t + (i % 2)
// (a_i lives in register i / 2, the even i in the low 16 bits), computes D = A B + C (each element
// summed over k = 0..15 in order with fused multiply-adds) and writes every lane's D elements back
// (a suspended lane's registers are its stack, which stays put). The others find their D done.
// Two slots alternate between calls, so one yield suffices: a lane can only overwrite a slot after
// the whole warp has been served from it. A warp's lanes run in step (the same yields), but warps
// need not call mma equally often between barriers.
struct jd_mma_frag { unsigned a[4], b[2]; float* d; };
static thread_local jd_mma_frag jd_mma_slots[2][1024];
static thread_local unsigned char jd_mma_parity[1024];
static thread_local unsigned jd_mma_seq[1024];        // calls so far by each thread in this block (equal across a warp)
static thread_local unsigned jd_mma_done[2][32];      // per slot and warp: the call whose D is written
// every F16 value as F32, filled once when the module is loaded (before any OS thread reads it)
static float jd_half_table[65536];
__attribute__((constructor)) static void jd_fill_half_table() {
    for (unsigned h = 0; h < 65536; h++) jd_half_table[h] = jd_half_to_float((unsigned short) h);
}
static inline float jd_mma_elem(unsigned reg, int hi, int bf16) {
    unsigned short h = (unsigned short) (hi ? reg >> 16 : reg & 0xffffu);
    return bf16 ? __uint_as_float(((unsigned) h) << 16) : jd_half_table[h];
}
// c[r][col] = sum over k of a[r][k] b[k][col] + c[r][col], k in order; with AVX2 FMA (8 columns at once) where the CPU has it
#define JD_MMA_PRODUCT(FMA) \
    for (int r = 0; r < 16; r++) \
        for (int k = 0; k < 16; k++) \
            for (int col = 0; col < 8; col++) c[r][col] = FMA(a[r][k], b[k][col], c[r][col]);
__attribute__((target("avx2,fma"), optimize("O3"))) static void jd_mma_product_fma(float (*c)[8], const float (*a)[16], const float (*b)[8]) { JD_MMA_PRODUCT(__builtin_fmaf) }
static void jd_mma_product(float (*c)[8], const float (*a)[16], const float (*b)[8]) { JD_MMA_PRODUCT(std::fma) }
static const bool jd_has_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
static void jd_mma_warp(jd_mma_frag* w, int bf16) {
    float a[16][16], b[16][8], c[16][8];
    for (int lane = 0; lane < 32; lane++) {
        int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 8; i++) a[g + 8 * ((i / 2) % 2)][2 * t + (i % 2) + 8 * (i / 4)] = jd_mma_elem(w[lane].a[i / 2], i % 2, bf16);
        for (int i = 0; i < 4; i++) b[2 * t + (i % 2) + 8 * (i / 2)][g] = jd_mma_elem(w[lane].b[i / 2], i % 2, bf16);
        for (int i = 0; i < 4; i++) c[g + 8 * (i / 2)][2 * t + (i % 2)] = w[lane].d[i];
    }
    if (jd_has_fma) jd_mma_product_fma(c, a, b);
    else jd_mma_product(c, a, b);
    for (int lane = 0; lane < 32; lane++) {
        int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 4; i++) w[lane].d[i] = c[g + 8 * (i / 2)][2 * t + (i % 2)];
    }
}
static inline void jd_mma_m16n8k16(float* d, const unsigned* a, const unsigned* b, int bf16) {
    int tid = jd_tid(), p = jd_mma_parity[tid];
    jd_mma_parity[tid] ^= 1;
    unsigned seq = ++jd_mma_seq[tid];
    jd_mma_frag& mine = jd_mma_slots[p][tid];
    for (int i = 0; i < 4; i++) mine.a[i] = a[i];
    for (int i = 0; i < 2; i++) mine.b[i] = b[i];
    mine.d = d;
    jd_yield();
    unsigned& done = jd_mma_done[p][tid >> 5];
    if (done != seq) {   // the warp's first lane back does the whole warp's product
        jd_mma_warp(&jd_mma_slots[p][tid & ~31], bf16);
        done = seq;
    }
}

// Where a fiber starts (jd_switch "returns" into it on its fresh stack); it ends by switching back for good.
static void jd_fiber_main() {
    jd_entry(jd_params);
    jd_fibers[jd_cur].done = true;
    void* unused;
    jd_switch(&unused, jd_sched);
}

// A fresh stack that jd_switch can load: the saved MXCSR/x87 control word (the scheduler's), six
// zeroed callee-saved registers, then jd_fiber_main as the return address, placed so that it starts
// with the stack aligned as after a call (rsp + 8 a multiple of 16).
static void* jd_fiber_stack(char* base, size_t size) {
    uintptr_t top = ((uintptr_t) base + size) & ~(uintptr_t) 15;
    uint64_t* sp = (uint64_t*) (top - 16);
    *sp = (uint64_t) (uintptr_t) &jd_fiber_main;
    for (int i = 0; i < 6; i++) *--sp = 0;
    unsigned mxcsr;
    unsigned short fpucw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpucw));
    *--sp = (uint64_t) mxcsr | ((uint64_t) fpucw << 32);
    return sp;
}

static const size_t JD_STACK_BYTES = 256 * 1024;

// Runs blocks first..end-1 of a launch of kernel wrapper w (linear block numbers, x fastest, then y,
// then z) on the calling OS thread, one block after another. The fake driver checks the launch
// configuration, splits the blocks over its worker threads (fake_cuda.cpp, run_launch) and gives each
// thread its fibers' stacks: `stacks`, 1024 of JD_STACK_BYTES (the driver's, not the module's, so
// that no thread_local here needs a destructor, which would keep an unloaded module mapped).
extern "C" void jd_launch_blocks(void (*w)(void**), unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                 unsigned shared, void** params, unsigned long long first, unsigned long long end, char* stacks) {
    unsigned n = bx * by * bz;
    std::vector<unsigned char> dyn(shared + 16, 0xcd);   // garbage, like real shared memory
    jd_dynamic = dyn.data();
    jd_entry = w;
    jd_params = params;
    gridDim = {gx, gy, gz};
    blockDim = {bx, by, bz};
    for (unsigned long long b = first; b < end; b++) {
        blockIdx = {(unsigned) (b % gx), (unsigned) (b / gx % gy), (unsigned) (b / ((unsigned long long) gx * gy))};
        std::memset(jd_mma_parity, 0, sizeof jd_mma_parity);
        std::memset(jd_mma_seq, 0, sizeof jd_mma_seq);
        std::memset(jd_mma_done, 0, sizeof jd_mma_done);
#ifdef JD_NO_BARRIERS
        for (unsigned t = 0; t < n; t++) {
            jd_fibers[t].tid = {t % bx, (t / bx) % by, t / (bx * by)};
            jd_cur = (int) t;
            w(params);
        }
        continue;
#endif
        for (unsigned t = 0; t < n; t++) {
            jd_fiber& f = jd_fibers[t];
            f.tid = {t % bx, (t / bx) % by, t / (bx * by)};
            f.done = false;
            f.sp = jd_fiber_stack(stacks + t * JD_STACK_BYTES, JD_STACK_BYTES);
        }
        unsigned live = n;
        jd_bar_arrived = 0;
        while (live > 0) {
            live = 0;
            for (unsigned t = 0; t < n; t++) {
                if (jd_fibers[t].done) continue;
                jd_cur = (int) t;
                jd_switch(&jd_sched, jd_fibers[t].sp);
                if (!jd_fibers[t].done) live++;
            }
            if (jd_bar_arrived > 0 && (unsigned) jd_bar_arrived == live) {   // all at the barrier: release
                std::memset(jd_bar_wait, 0, n);
                jd_bar_arrived = 0;
            }
        }
    }
}
