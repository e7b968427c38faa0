// An NVRTC (libnvrtc.so.13) for tests on machines without a GPU: "compiles" a kernel source with
// g++ into a shared library for the fiber emulator (emu.h). It finds the extern "C" kernels in
// the preprocessed source and adds, for each, a wrapper taking CUDA's void** kernelParams.
// JDEMU_DIR (a -D at build time) is the folder holding emu.h.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

struct Program { std::string src, name, log; std::vector<std::pair<std::string, std::string>> headers; std::string image; };

static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
static void spit(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
static int run(const std::string& cmd, std::string& out) {
    std::string full = cmd + " 2>&1";
    FILE* p = popen(full.c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    return pclose(p);
}

extern "C" {
// never the version of a real NVRTC; 0.2 since kernel modules export their parameter sizes, 0.4 since they
// export jd_launch_blocks (blocks on several threads, stacks from the driver) instead of jd_launch (each a
// new kernel cache key)
int nvrtcVersion(int* major, int* minor) { *major = 0; *minor = 4; return 0; }
const char* nvrtcGetErrorString(int rc) {
    switch (rc) {
        case 0: return "NVRTC_SUCCESS";
        case 5: return "NVRTC_ERROR_INVALID_OPTION";
        case 6: return "NVRTC_ERROR_COMPILATION";
        default: return "NVRTC_ERROR_INTERNAL_ERROR";
    }
}
int nvrtcCreateProgram(Program** prog, const char* src, const char* name, int n, const char* const* headers, const char* const* names) {
    Program* p = new Program{src, name ? name : "kernel.cu", "", {}, ""};
    for (int i = 0; i < n; i++) p->headers.emplace_back(names[i], headers[i]);
    *prog = p;
    return 0;
}
int nvrtcDestroyProgram(Program** prog) { delete *prog; *prog = nullptr; return 0; }
int nvrtcCompileProgram(Program* p, int n, const char* const* opts) {
    bool arch = false;
    for (int i = 0; i < n; i++) {
        std::string o = opts[i];
        if (o.rfind("--gpu-architecture=", 0) == 0) {
            std::string a = o.substr(19);
            if (!std::regex_match(a, std::regex("(sm|compute)_[0-9]+a?"))) { p->log = "invalid architecture " + a; return 5; }
            arch = true;
        } else if (o != "-default-device" && o.rfind("--std=", 0) != 0 && o.rfind("-I", 0) != 0 && o != "-lineinfo") {
            p->log = "unknown option " + o;
            return 5;
        }
    }
    if (!arch) { p->log = "no --gpu-architecture"; return 5; }
    char dir[] = "/tmp/jdemu-nvrtc-XXXXXX";
    if (!mkdtemp(dir)) { p->log = "mkdtemp failed"; return 6; }
    std::string d = dir, emu = JDEMU_DIR;
    for (auto& h : p->headers) spit(d + "/" + h.first, h.second);
    spit(d + "/" + p->name, p->src);
    std::string pre;
    int rc = run("g++ -std=c++20 -E -P -D__global__=__jd_global__ -include " + emu + "/emu.h -I" + d + " -x c++ " + d + "/" + p->name, pre);
    if (rc != 0) { p->log = pre; return 6; }
    std::regex k("extern \"C\" __jd_global__ void\\s+(\\w+)\\s*\\(([^)]*)\\)");
    std::string wrappers = "#include \"" + p->name + "\"\n";
    int count = 0;
    for (std::sregex_iterator it(pre.begin(), pre.end(), k), end; it != end; ++it) {
        std::string fname = (*it)[1], params = (*it)[2];
        std::vector<std::string> types;
        std::stringstream ps(params);
        std::string part;
        while (std::getline(ps, part, ',')) {
            std::smatch m;
            if (!std::regex_match(part, m, std::regex("\\s*(.*?)\\s*\\b(\\w+)\\s*"))) { p->log = "cannot parse " + part; return 6; }
            types.push_back(m[1]);
        }
        wrappers += "extern \"C\" void " + fname + "__jdemu(void** p) { " + fname + "(";
        for (size_t i = 0; i < types.size(); i++) wrappers += (i ? ", " : "") + std::string("*(") + types[i] + "*) p[" + std::to_string(i) + "]";
        wrappers += "); }\n";
        // the parameters' sizes, for cuLaunchKernel to copy the argument values into a captured graph
        wrappers += "extern \"C\" const long long " + fname + "__jdemu_sizes[] = {";
        for (size_t i = 0; i < types.size(); i++) wrappers += "(long long) sizeof(" + types[i] + "), ";
        wrappers += "-1};\n";
        count++;
    }
    if (count == 0) { p->log = "no extern \"C\" __global__ kernels in " + p->name; return 6; }
    spit(d + "/wrappers.cpp", wrappers);
    // A source that never synchronises its threads (no barrier, shuffle or block/warp reduction of
    // common.cuh) runs each CUDA thread straight through, without fibers: the same semantics, and
    // the full-size model tests' elementwise, im2col and copy kernels run ~100x faster.
    std::regex sync("__syncthreads|__syncwarp|__shfl|warp_sum|warp_max|block_sum|block_max");
    std::string mode = std::regex_search(p->src, sync) ? "" : " -DJD_NO_BARRIERS";
    std::string out;
    rc = run("g++ -std=c++20 -O2 -fPIC -shared -w" + mode + " -include " + emu + "/emu.h -I" + d + " " + d + "/wrappers.cpp -o " + d + "/module.so", out);
    p->log = out;
    if (rc != 0) return 6;
    p->image = slurp(d + "/module.so");
    std::string ignored;
    run("rm -rf " + d, ignored);
    return 0;
}
int nvrtcGetProgramLogSize(Program* p, size_t* n) { *n = p->log.size() + 1; return 0; }
int nvrtcGetProgramLog(Program* p, char* buf) { std::memcpy(buf, p->log.c_str(), p->log.size() + 1); return 0; }
int nvrtcGetCUBINSize(Program* p, size_t* n) { *n = p->image.size(); return 0; }
int nvrtcGetCUBIN(Program* p, char* buf) { std::memcpy(buf, p->image.data(), p->image.size()); return 0; }
int nvrtcGetPTXSize(Program* p, size_t* n) { *n = p->image.size(); return 0; }
int nvrtcGetPTX(Program* p, char* buf) { std::memcpy(buf, p->image.data(), p->image.size()); return 0; }
int nvrtcGetNumSupportedArchs(int* n) { *n = 2; return 0; }
int nvrtcGetSupportedArchs(int* a) { a[0] = 80; a[1] = 90; return 0; }
}
