// A CUDA driver (libcuda.so.1) for tests on machines without a GPU: device memory is host
// memory, streams run synchronously, modules are shared libraries made by fake_nvrtc.cpp whose
// kernels run on the fiber emulator of emu.h. Only what CudaDriver binds is here.
//
// A launch's blocks run on several OS threads (JDIFFUSION_EMU_THREADS, default: the CPU count): the
// calling thread and a pool of workers take chunks of consecutive blocks until none are left, each
// running its chunks with emu.h's per-thread state; the launch returns when every block has run.
//
// Stream capture (CUDA graphs): while a stream captures, its kernel launches (function, grid, block,
// shared bytes and a copy of the argument bytes), memsets and async copies are recorded instead of
// run, and cuGraphLaunch replays them in order. The emulated cuBLAS(Lt), a separate library, records
// its calls through jdemu_capture. Host-synchronous calls during a capture fail as the real driver's
// do (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED / _IMPLICIT) and invalidate it, so cuStreamEndCapture
// then reports CUDA_ERROR_STREAM_CAPTURE_INVALIDATED and no graph.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <memory>
#include <vector>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <sched.h>
#include <sys/mman.h>
#include <string>
#include <unistd.h>
#include <unordered_map>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
struct Module { void* handle; };
typedef void (*LaunchBlocks)(void (*)(void**), unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void**,
                             unsigned long long, unsigned long long, char*);   // emu.h's jd_launch_blocks
struct Function { void (*wrapper)(void**); LaunchBlocks launch; std::string name;
                  const long long* argSizes; };   // sizeof each kernel parameter, -1 ended (fake_nvrtc's __jdemu_sizes)

static const CUresult OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, INVALID_IMAGE = 200, NOT_FOUND = 500,
                      LAUNCH_FAILED = 719, INVALID_DEVICE = 101, NOT_SUPPORTED = 801, ILLEGAL_STATE = 401,
                      CAPTURE_UNSUPPORTED = 900, CAPTURE_INVALIDATED = 901, CAPTURE_IMPLICIT = 906;

// ---- launches ---------------------------------------------------------------------------------
// a launch configuration the GPU refuses (checked at launch, and when a capture records the launch)
static bool refused_config(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared) {
    unsigned n = bx * by * bz;
    return n == 0 || n > 1024 || shared > 48 * 1024 || gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535;
}
// JDIFFUSION_EMU_THREADS, else the CPUs this process may run on (as nproc counts them; a container's
// machine may have more than it lets the process use)
static unsigned emu_threads() {
    const char* e = std::getenv("JDIFFUSION_EMU_THREADS");
    int n = e ? std::atoi(e) : 0;
    cpu_set_t cpus;
    if (n <= 0 && sched_getaffinity(0, sizeof cpus, &cpus) == 0) n = CPU_COUNT(&cpus);
    if (n <= 0) n = (int) std::thread::hardware_concurrency();
    return n > 0 ? (unsigned) n : 1u;
}
// The blocks of one launch, shared by the threads that run them: each takes the next `chunk`
// blocks until `next` passes `total`. `mxcsr`: the launching thread's floating-point control (a
// worker runs blocks under it, so rounding and denormal handling do not depend on the thread).
struct Job {
    Function* f; unsigned gx, gy, gz, bx, by, bz, shared; void** params;
    unsigned long long total, chunk; unsigned mxcsr;
    std::atomic<unsigned long long> next{0};
};
// The fibers' stacks of the calling OS thread, for every module's blocks (emu.h's 1024 of 256 KiB):
// reserved on its first launch and kept for the thread's life (malloc maps a block this large lazily,
// so only the pages a fiber touches, near its stack's top, cost memory).
static char* thread_stacks() {
    static thread_local char* stacks = nullptr;
    if (!stacks && !(stacks = (char*) std::malloc(1024 * 256 * 1024))) std::abort();
    return stacks;
}
static void run_chunks(Job& j) {
    char* stacks = thread_stacks();
    unsigned own;
    asm volatile("stmxcsr %0" : "=m"(own));
    if (own != j.mxcsr) asm volatile("ldmxcsr %0" : : "m"(j.mxcsr));
    for (unsigned long long b; (b = j.next.fetch_add(j.chunk)) < j.total;)
        j.f->launch(j.f->wrapper, j.gx, j.gy, j.gz, j.bx, j.by, j.bz, j.shared, j.params, b, std::min(b + j.chunk, j.total), stacks);
    if (own != j.mxcsr) asm volatile("ldmxcsr %0" : : "m"(own));
}
// Workers sleep until a launch is published (`generation` changes while `open`), join it, and tell
// the launcher when the last of them leaves; a worker that wakes after the launch closed skips it.
struct Pool {
    std::mutex m;
    std::condition_variable wake, left;
    Job* job = nullptr;
    bool open = false;
    unsigned long long generation = 0;
    int active = 0;
    Pool(unsigned workers) {
        for (unsigned i = 0; i < workers; i++) std::thread([this] { work(); }).detach();
    }
    void work() {
        unsigned long long seen = 0;
        std::unique_lock<std::mutex> lock(m);
        for (;;) {
            wake.wait(lock, [&] { return generation != seen; });
            seen = generation;
            if (!open) continue;
            Job* j = job;
            active++;
            lock.unlock();
            run_chunks(*j);
            lock.lock();
            if (--active == 0) left.notify_all();
        }
    }
    void run(Job& j) {
        {
            std::lock_guard<std::mutex> lock(m);
            job = &j;
            open = true;
            generation++;
        }
        wake.notify_all();
        run_chunks(j);
        std::unique_lock<std::mutex> lock(m);
        open = false;
        left.wait(lock, [&] { return active == 0; });
    }
};
static std::mutex launching;   // one launch at a time, as on one stream
static const unsigned long long SMALL_LAUNCH_THREADS = 8192;
static CUresult run_launch(Function* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                           void** params, CUresult refusal) {
    if (refused_config(gx, gy, gz, bx, by, bz, shared)) return refusal;
    static const unsigned threads = emu_threads();
    Job j;
    j.f = f; j.gx = gx; j.gy = gy; j.gz = gz; j.bx = bx; j.by = by; j.bz = bz; j.shared = shared; j.params = params;
    j.total = (unsigned long long) gx * gy * gz;
    asm volatile("stmxcsr %0" : "=m"(j.mxcsr));
    std::lock_guard<std::mutex> lock(launching);
    // a small launch (fixture-sized models launch thousands) runs on the calling thread: waking a worker
    // would cost more than its share of the blocks
    if (threads == 1 || j.total == 1 || j.total * bx * by * bz < SMALL_LAUNCH_THREADS) {
        f->launch(f->wrapper, gx, gy, gz, bx, by, bz, shared, params, 0, j.total, thread_stacks());
        return OK;
    }
    // about 8 chunks per thread: small enough to even out blocks of unequal cost, large enough that
    // taking one costs nothing next to running it
    j.chunk = std::max(1ull, j.total / (8ull * threads));
    static Pool* pool = new Pool(threads - 1);   // never destroyed: its workers wait on it until the process ends
    pool->run(j);
    return OK;
}

// ---- stream capture ----------------------------------------------------------------------------
typedef std::function<CUresult()> Node;
struct Graph { std::vector<Node> nodes; };
struct Exec { std::shared_ptr<const std::vector<Node>> nodes; };
struct Capture { Graph* graph; bool invalid; };
static std::unordered_map<void*, Capture> captures;   // by stream
static long long live_graphs = 0, live_execs = 0;
static Capture* capturing(void* stream) {
    auto it = captures.find(stream);
    return it == captures.end() ? nullptr : &it->second;
}
// a host-synchronous call while `stream` (or, for stream 0 / the context, any stream) captures
static CUresult refused(void* stream, CUresult rc) {
    bool any = false;
    for (auto& c : captures) if (!stream || c.first == stream) { c.second.invalid = true; any = true; }
    return any ? rc : OK;
}
// records `node` when `stream` captures (returns true), else the caller runs it now
static bool record(void* stream, Node node) {
    Capture* c = capturing(stream);
    if (!c) return false;
    c->graph->nodes.push_back(std::move(node));
    return true;
}
static bool initialised = false;
static long long allocated = 0;
// 8 GiB unless JDIFFUSION_EMU_DEVICE_GIB says otherwise (an F32 full-size UNet holds 10.3 GB of weights)
static long long device_total() {
    const char* g = std::getenv("JDIFFUSION_EMU_DEVICE_GIB");
    long long gib = g ? std::atoll(g) : 0;
    return (gib > 0 ? gib : 8LL) << 30;
}
static const long long TOTAL = device_total();

extern "C" {
CUresult cuInit(unsigned) { initialised = true; return OK; }
CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int* n) { if (!initialised) return NOT_INITIALIZED; *n = 1; return OK; }
CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_DEVICE; *d = 0; return OK; }
CUresult cuDeviceGetName(char* name, int len, int) { std::snprintf(name, len, "jdiffusion CPU emulator"); return OK; }
CUresult cuDeviceGetAttribute(int* v, int attr, int) {
    switch (attr) {
        case 75: *v = 9; break;      // compute capability major
        case 76: *v = 0; break;      // minor
        case 16: *v = 1; break;      // multiprocessors
        case 8: *v = 48 * 1024; break;
        default: *v = 0;
    }
    return OK;
}
CUresult cuDeviceTotalMem_v2(size_t* b, int) { *b = TOTAL; return OK; }
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { static int c; *ctx = &c; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
CUresult cuCtxSetCurrent(void*) { return OK; }
CUresult cuCtxSynchronize() { return refused(nullptr, CAPTURE_UNSUPPORTED); }
static std::unordered_map<void*, size_t> block_sizes;
// JDIFFUSION_EMU_DEVICE_DIR=folder: blocks of 1 MiB and more live in unlinked files there (shared
// mappings), so the kernel can write them back and evict them under memory pressure instead of killing a
// process: an F32 full-size UNet's 10 GB then fit on a machine whose memory other jobs share (most of
// its weights are tensors of 1 to 16 MiB, so the threshold stays low).
static const char* spill_dir = std::getenv("JDIFFUSION_EMU_DEVICE_DIR");
static std::unordered_map<void*, size_t> mapped;
static void* file_block(size_t bytes) {
    std::string path = std::string(spill_dir) + "/jdemu-device-XXXXXX";
    int fd = mkstemp(path.data());
    if (fd < 0) return nullptr;
    unlink(path.c_str());
    size_t len = (bytes + 4095) / 4096 * 4096;
    void* m = ftruncate(fd, (off_t) len) == 0 ? mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) return nullptr;
    mapped[m] = len;
    return m;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    if ((long long) bytes + allocated > TOTAL) return OUT_OF_MEMORY;
    void* m = spill_dir && bytes >= (1u << 20) ? file_block(bytes) : std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
    if (!m) return OUT_OF_MEMORY;
    std::memset(m, 0xcd, bytes);    // like fresh device memory: garbage, not zeros
    allocated += (long long) bytes;
    block_sizes[m] = bytes;
    *p = (CUdeviceptr) m;
    return OK;
}
// freed bytes return to the device's total (many backends come and go in one test JVM)
CUresult cuMemFree_v2(CUdeviceptr p) {
    auto it = block_sizes.find((void*) p);
    if (it != block_sizes.end()) {
        allocated -= (long long) it->second;
        block_sizes.erase(it);
    }
    auto f = mapped.find((void*) p);
    if (f != mapped.end()) {
        munmap(f->first, f->second);
        mapped.erase(f);
    } else {
        std::free((void*) p);
    }
    return OK;
}
CUresult cuMemAllocAsync(CUdeviceptr* p, size_t bytes, void*) { return cuMemAlloc_v2(p, bytes); }
CUresult cuMemFreeAsync(CUdeviceptr p, void*) { return cuMemFree_v2(p); }
CUresult cuMemGetInfo_v2(size_t* f, size_t* t) { *f = TOTAL - allocated; *t = TOTAL; return OK; }
// synchronous copies go to the legacy stream, which synchronises with the (blocking) captured streams
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void* s, size_t n) {
    if (CUresult rc = refused(nullptr, CAPTURE_IMPLICIT)) return rc;
    std::memcpy((void*) d, s, n);
    return OK;
}
CUresult cuMemcpyDtoH_v2(void* d, CUdeviceptr s, size_t n) {
    if (CUresult rc = refused(nullptr, CAPTURE_IMPLICIT)) return rc;
    std::memcpy(d, (void*) s, n);
    return OK;
}
// captured copies keep the host pointer, as a real memcpy node does: a replay reads (writes) it then
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void* st) {
    Node op = [=] { std::memcpy((void*) d, s, n); return OK; };
    return record(st, op) ? OK : op();
}
CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void* st) {
    Node op = [=] { std::memcpy(d, (void*) s, n); return OK; };
    return record(st, op) ? OK : op();
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void* st) {
    Node op = [=] { std::memmove((void*) d, (void*) s, n); return OK; };
    return record(st, op) ? OK : op();
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void* st) {
    Node op = [=] { std::memset((void*) d, v, n); return OK; };
    return record(st, op) ? OK : op();
}
CUresult cuStreamCreate(void** s, unsigned) { *s = std::malloc(8); return OK; }
CUresult cuStreamSynchronize(void* s) { return capturing(s) ? refused(s, CAPTURE_UNSUPPORTED) : OK; }
CUresult cuStreamDestroy_v2(void* s) {
    if (capturing(s)) return ILLEGAL_STATE;
    std::free(s);
    return OK;
}
CUresult cuEventCreate(void** e, unsigned) { *e = new double(0); return OK; }
CUresult cuEventRecord(void* e, void*) {
    *(double*) e = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return OK;
}
CUresult cuEventSynchronize(void*) { return OK; }
CUresult cuEventElapsedTime_v2(float* ms, void* a, void* b) { *ms = (float) (*(double*) b - *(double*) a); return OK; }
CUresult cuEventElapsedTime(float* ms, void* a, void* b) { return cuEventElapsedTime_v2(ms, a, b); }
CUresult cuEventDestroy_v2(void* e) { delete (double*) e; return OK; }

// The image is the bytes of a shared library (ELF): written to a file and dlopen'ed.
CUresult cuModuleLoadData(void** module, const void* image) {
    const unsigned char* b = (const unsigned char*) image;
    if (!(b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F')) return INVALID_IMAGE;
    // ELF section headers end the file: size = e_shoff + e_shnum * e_shentsize
    uint64_t shoff; uint16_t shentsize, shnum;
    std::memcpy(&shoff, b + 0x28, 8);
    std::memcpy(&shentsize, b + 0x3a, 2);
    std::memcpy(&shnum, b + 0x3c, 2);
    size_t size = shoff + (size_t) shnum * shentsize;
    char path[] = "/tmp/jdemu-module-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return INVALID_IMAGE;
    if (write(fd, b, size) != (ssize_t) size) { close(fd); return INVALID_IMAGE; }
    close(fd);
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    unlink(path);
    if (!h) { std::fprintf(stderr, "fake cuModuleLoadData: %s\n", dlerror()); return INVALID_IMAGE; }
    *module = new Module{h};
    return OK;
}
CUresult cuModuleGetFunction(void** fn, void* module, const char* name) {
    Module* m = (Module*) module;
    std::string w = std::string(name) + "__jdemu";
    void* wrapper = dlsym(m->handle, w.c_str());
    void* launch = dlsym(m->handle, "jd_launch_blocks");
    if (!wrapper || !launch) return NOT_FOUND;
    std::string z = std::string(name) + "__jdemu_sizes";
    *fn = new Function{(void (*)(void**)) wrapper,
                       (LaunchBlocks) launch, name,
                       (const long long*) dlsym(m->handle, z.c_str())};
    return OK;
}
CUresult cuModuleUnload(void* module) { dlclose(((Module*) module)->handle); delete (Module*) module; return OK; }
CUresult cuLaunchKernel(void* fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void* stream, void** params, void**) {
    Function* f = (Function*) fn;
    Capture* c = capturing(stream);
    if (!c) return run_launch(f, gx, gy, gz, bx, by, bz, shared, params, INVALID_VALUE);
    // a kernel node: the launch configuration checked now (as the real driver does) and the argument
    // values copied, each at a 16-byte aligned offset of one buffer
    if (refused_config(gx, gy, gz, bx, by, bz, shared)) return INVALID_VALUE;
    if (!f->argSizes) { c->invalid = true; return NOT_SUPPORTED; }   // a module built before the sizes were exported
    std::vector<size_t> at;
    size_t total = 0;
    for (int i = 0; f->argSizes[i] >= 0; i++) {
        at.push_back(total);
        total += ((size_t) f->argSizes[i] + 15) / 16 * 16;
    }
    auto bytes = std::make_shared<std::vector<unsigned char>>(total + 16);
    for (size_t i = 0; i < at.size(); i++) std::memcpy(bytes->data() + at[i], params[i], (size_t) f->argSizes[i]);
    c->graph->nodes.push_back([=] {
        std::vector<void*> p;
        for (size_t off : at) p.push_back(bytes->data() + off);
        return run_launch(f, gx, gy, gz, bx, by, bz, shared, p.data(), LAUNCH_FAILED);
    });
    return OK;
}

// CU_STREAM_CAPTURE_MODE_RELAXED (2) is the only mode the backend uses; the others behave alike here
CUresult cuStreamBeginCapture_v2(void* stream, int mode) {
    if (mode < 0 || mode > 2) return INVALID_VALUE;
    if (capturing(stream)) return ILLEGAL_STATE;
    captures[stream] = Capture{new Graph(), false};
    live_graphs++;
    return OK;
}
CUresult cuStreamIsCapturing(void* stream, int* status) {
    Capture* c = capturing(stream);
    *status = !c ? 0 : c->invalid ? 2 : 1;   // CU_STREAM_CAPTURE_STATUS_NONE / ACTIVE / INVALIDATED
    return OK;
}
CUresult cuStreamEndCapture(void* stream, void** graph) {
    Capture* c = capturing(stream);
    if (!c) return ILLEGAL_STATE;
    Capture done = *c;
    captures.erase(stream);
    if (done.invalid) {
        delete done.graph;
        live_graphs--;
        *graph = nullptr;
        return CAPTURE_INVALIDATED;
    }
    *graph = done.graph;
    return OK;
}
CUresult cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long) {
    if (!graph) return INVALID_VALUE;
    *exec = new Exec{std::make_shared<const std::vector<Node>>(((Graph*) graph)->nodes)};
    live_execs++;
    return OK;
}
CUresult cuGraphLaunch(void* exec, void* stream) {
    if (!exec) return INVALID_VALUE;
    if (capturing(stream)) return CAPTURE_UNSUPPORTED;   // graphs in graphs: not needed here
    for (const Node& node : *((Exec*) exec)->nodes) {
        CUresult rc = node();
        if (rc != OK) return rc == INVALID_VALUE ? LAUNCH_FAILED : rc;
    }
    return OK;
}
CUresult cuGraphExecDestroy(void* exec) {
    if (!exec) return INVALID_VALUE;
    delete (Exec*) exec;
    live_execs--;
    return OK;
}
CUresult cuGraphDestroy(void* graph) {
    if (!graph) return INVALID_VALUE;
    delete (Graph*) graph;
    live_graphs--;
    return OK;
}
// for the emulated cuBLAS (another library): records run(ctx) as a node when `stream` captures
// (returns 1; drop(ctx) frees it with the graph), else returns 0 and the caller runs the call itself
int jdemu_capture(void* stream, int (*run)(void*), void* ctx, void (*drop)(void*)) {
    std::shared_ptr<void> owned(ctx, drop);
    return record(stream, [run, owned] { return run(owned.get()) == 0 ? OK : LAUNCH_FAILED; }) ? 1 : 0;
}
// for tests: graphs and executable graphs not destroyed yet
long long jdemu_live_graphs() { return live_graphs + live_execs; }
// name and description of each status the emulator returns
struct ErrorText { CUresult rc; const char* name; const char* text; };
static const ErrorText error_texts[] = {
    {OK, "CUDA_SUCCESS", "no error"}, {INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", nullptr}, {OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", nullptr},
    {NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", nullptr}, {INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", nullptr},
    {NOT_FOUND, "CUDA_ERROR_NOT_FOUND", nullptr}, {LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", nullptr},
    {NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", nullptr}, {ILLEGAL_STATE, "CUDA_ERROR_ILLEGAL_STATE", nullptr},
    {CAPTURE_UNSUPPORTED, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing"},
    {CAPTURE_INVALIDATED, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "operation failed due to a previous error during capture"},
    {CAPTURE_IMPLICIT, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", "operation would make the legacy stream depend on a capturing blocking stream"},
};
static const ErrorText* error_text(CUresult rc) {
    for (const ErrorText& e : error_texts) if (e.rc == rc) return &e;
    return nullptr;
}
CUresult cuGetErrorName(CUresult rc, const char** s) {
    const ErrorText* e = error_text(rc);
    *s = e ? e->name : "CUDA_ERROR_UNKNOWN";
    return OK;
}
CUresult cuGetErrorString(CUresult rc, const char** s) {
    const ErrorText* e = error_text(rc);
    *s = e && e->text ? e->text : "emulated driver error";
    return OK;
}
}
