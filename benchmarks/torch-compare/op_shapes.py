#!/usr/bin/env python3
"""The CPU backend's GEMM-bound ops against PyTorch's at the full-size SDXL base UNet's shapes.

Runs, interleaved per op, torch (F.linear / F.conv2d / scaled_dot_product_attention, fp32, the
given threads) in this process and jdiffusion (io.jdiffusion.benchmarks.CpuOpShapes, one JVM per
round) and prints one JSON line per op: both medians, GFLOP/s and the jdiffusion/torch ratio, and
the CPU seconds per call of each side with their ratio (the steadier figure on a shared machine).

    source /work/refenv/env.sh
    ./mvnw -o -q -pl benchmarks -am package -DskipTests
    python benchmarks/torch-compare/op_shapes.py --latent 32 --rounds 2 --threads 2
"""
import argparse, json, os, statistics, subprocess, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]


def shapes(lat):
    """Op specs of one batch-2 UNet forward at lat x lat latents (the distinct GEMM-bound shapes)."""
    t1, t2 = 2 * (lat // 2) ** 2, 2 * (lat // 4) ** 2  # tokens at the 640 and 1280 levels
    return [
        f"linear:{t1}:640:640", f"linear:{t1}:640:5120", f"linear:{t1}:2560:640",
        f"linear:{t2}:1280:1280", f"linear:{t2}:1280:10240", f"linear:{t2}:5120:1280",
        f"conv:2:320:{lat}:320:3", f"conv:2:640:{lat // 2}:640:3", f"conv:2:1280:{lat // 4}:1280:3",
        f"conv:2:640:{lat}:320:3",
        f"attn:2:10:{(lat // 2) ** 2}:{(lat // 2) ** 2}:64", f"attn:2:20:{(lat // 4) ** 2}:{(lat // 4) ** 2}:64",
        f"attn:2:10:{(lat // 2) ** 2}:77:64",
    ]


def torch_op(spec, reps):
    kind, *v = spec.split(":")
    v = list(map(int, v))
    g = torch.Generator().manual_seed(1)
    if kind == "linear":
        x, w, b = torch.randn(v[0], v[1], generator=g), torch.randn(v[2], v[1], generator=g), torch.randn(v[2], generator=g)
        fn, flop = (lambda: F.linear(x, w, b)), 2.0 * v[0] * v[1] * v[2]
    elif kind == "conv":
        x = torch.randn(v[0], v[1], v[2], v[2], generator=g)
        w, b = torch.randn(v[3], v[1], v[4], v[4], generator=g), torch.randn(v[3], generator=g)
        fn, flop = (lambda: F.conv2d(x, w, b, padding=v[4] // 2)), 2.0 * v[0] * v[3] * v[2] ** 2 * v[1] * v[4] ** 2
    else:
        q = torch.randn(v[0], v[1], v[2], v[4], generator=g)
        k, vv = torch.randn(v[0], v[1], v[3], v[4], generator=g), torch.randn(v[0], v[1], v[3], v[4], generator=g)
        fn, flop = (lambda: F.scaled_dot_product_attention(q, k, vv)), 4.0 * v[0] * v[1] * v[2] * v[3] * v[4]
    with torch.no_grad():
        fn()
        ts = []
        c0 = time.process_time()
        for _ in range(reps):
            t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
        cpu = (time.process_time() - c0) / reps
    ts.sort()
    return ts[reps // 2], ts[0], cpu, flop


def java_ops(specs, reps, threads, jar):
    java = subprocess.run([str(REPO / "scripts/find-jdk25")], capture_output=True, text=True, check=True).stdout.strip() + "/bin/java"
    cmd = [java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx6g",
           f"-Djava.util.concurrent.ForkJoinPool.common.parallelism={threads - 1}",
           "-cp", str(jar), "io.jdiffusion.benchmarks.CpuOpShapes", str(reps), *specs]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return {j["op"]: (j["s"], j["min_s"], j["cpu_s"]) for j in (json.loads(l) for l in out.stdout.splitlines() if l.startswith("{"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ops", nargs="*", help="op specs (default: the UNet's shapes at --latent)")
    ap.add_argument("--base-jar", help="benchmarks.jar of another jdiffusion build (e.g. main) to time too, interleaved")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    specs = a.ops or shapes(a.latent)
    jar = REPO / "benchmarks/target/benchmarks.jar"
    tt = {s: [] for s in specs}; jt = {s: [] for s in specs}; tc = {s: [] for s in specs}; jc = {s: [] for s in specs}; flops = {}
    bt = {s: [] for s in specs}
    tb = {s: [] for s in specs}; jb = {s: [] for s in specs}; bb = {s: [] for s in specs}  # fastest call of each round
    for r in range(a.rounds):
        order = [0, 1, 2] if r % 2 == 0 else [2, 1, 0]
        for side in order:
            if side == 0:
                for s in specs:
                    t, best, c, flops[s] = torch_op(s, a.reps); tt[s].append(t); tb[s].append(best); tc[s].append(c)
            elif side == 1:
                for s, (t, best, c) in java_ops(specs, a.reps, a.threads, jar).items():
                    jt[s].append(t); jb[s].append(best); jc[s].append(c)
            elif a.base_jar:
                for s, (t, best, c) in java_ops(specs, a.reps, a.threads, a.base_jar).items():
                    bt[s].append(t); bb[s].append(best)
    for s in specs:
        pt, jd = statistics.median(tt[s]), statistics.median(jt[s])
        base = {"base_s": round(statistics.median(bt[s]), 5), "base_ratio": round(statistics.median(bt[s]) / pt, 3),
                "base_best_s": round(min(bb[s]), 5), "base_best_ratio": round(min(bb[s]) / min(tb[s]), 3)} if bt[s] else {}
        print(json.dumps({**base, "op": s, "torch_s": round(pt, 5), "jdiffusion_s": round(jd, 5),
                          "torch_gflops": round(flops[s] / pt / 1e9, 1), "jdiffusion_gflops": round(flops[s] / jd / 1e9, 1),
                          "ratio": round(jd / pt, 3),
                          # the fastest call over all rounds of each side: the least disturbed by other users' load
                          "torch_best_s": round(min(tb[s]), 5), "jdiffusion_best_s": round(min(jb[s]), 5),
                          "best_ratio": round(min(jb[s]) / min(tb[s]), 3),
                          # CPU seconds per call of each process (threads summed): less dependent on what other users leave over
                          "torch_cpu_s": round(statistics.median(tc[s]), 5), "jdiffusion_cpu_s": round(statistics.median(jc[s]), 5),
                          "cpu_ratio": round(statistics.median(jc[s]) / statistics.median(tc[s]), 3),
                          "load_avg_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
