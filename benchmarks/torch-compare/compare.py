#!/usr/bin/env python3
"""Side by side: one full-size SDXL base UNet forward in diffusers (PyTorch, fp32 compute) and in
jdiffusion (CPU backend), on the same fp16 folder, the same inputs and the same number of threads.

    source /work/refenv/env.sh     # or ../shared/refgen/setup-env.sh: PyTorch 2.13 CPU + diffusers
    python benchmarks/torch-compare/compare.py /path/to/models [--rounds 3] [--threads 2]

The first run writes a full-size SDXL base UNet and VAE with random weights (seed 0) in the
diffusers layout as the fp16 variant (unet/diffusion_pytorch_model.fp16.safetensors, 5.1 GB) into
the folder; later runs reuse it. Each round starts one fresh process per side (alternating which
goes first), and each process loads the UNet folder, then runs one forward at batch 2 for 32x32
latents and one for 64x64 latents. Separate processes keep the two sides from sharing memory
(a fp32 UNet is 10 GB per side) and let each report its own peak RSS. The medians over the rounds,
the jdiffusion/PyTorch ratio per case, the threads of each side and the largest absolute
difference between the two outputs are printed as one JSON line (last line of stdout).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CONFIGS = os.path.join(REPO, "pipelines/src/main/resources/io/jdiffusion/pipelines/configs/sdxl-base")
LATENTS = (32, 64)
BATCH = 2
TIMESTEP = 500


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def write_random_fp16(folder, name, file_name, build, save):
    """Writes folder/name (a model with random weights, built in fp16) unless its file_name is there already."""
    out = os.path.join(folder, name)
    if os.path.exists(os.path.join(out, file_name)):
        return
    model = build()
    save(model, out)
    del model
    print(f"wrote {out}", file=sys.stderr)


def write_models(folder):
    """The UNet and VAE of the official SDXL base configs, random weights, saved as the fp16 variant."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    torch.manual_seed(0)
    # built directly in fp16 so the 2.6 B parameters take 5 GB, not 10, while they are written
    torch.set_default_dtype(torch.float16)
    for name, cls in (("unet", UNet2DConditionModel), ("vae", AutoencoderKL)):
        write_random_fp16(folder, name, "diffusion_pytorch_model.fp16.safetensors",
                          lambda: cls.from_config(cls.load_config(os.path.join(CONFIGS, name))),
                          lambda model, out: model.save_pretrained(out, variant="fp16"))
    torch.set_default_dtype(torch.float32)


def write_inputs(folder):
    """Gaussian inputs for both latent sizes (seed 0), as float32 safetensors both sides read."""
    import torch
    from safetensors.torch import save_file
    path = os.path.join(folder, "inputs.safetensors")
    if os.path.exists(path):
        return path
    g = torch.Generator().manual_seed(0)
    t = {
        "context": torch.randn(BATCH, 77, 2048, generator=g, dtype=torch.float32),
        "text_embeds": torch.randn(BATCH, 1280, generator=g, dtype=torch.float32),
    }
    for s in LATENTS:
        t[f"sample{s}"] = torch.randn(BATCH, 4, s, s, generator=g, dtype=torch.float32)
        t[f"time_ids{s}"] = torch.tensor([[s * 8, s * 8, 0, 0, s * 8, s * 8]] * BATCH, dtype=torch.float32)
    save_file(t, path)
    return path


def torch_worker(folder, threads, out_dir):
    """One diffusers process: load, one forward per latent size; JSON on stdout, outputs as raw float32."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import load_file
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    inputs = load_file(os.path.join(folder, "inputs.safetensors"))
    t0 = time.perf_counter()
    # loaded as stored, then widened parameter by parameter: the fp16 copy is freed as it goes, so
    # the peak stays near the 10 GB of fp32 weights (fp32 compute, the same numbers as torch_dtype=float32)
    unet = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet"), variant="fp16", torch_dtype=torch.float16)
    unet.float().eval()
    res = {"side": "pytorch", "threads": torch.get_num_threads(), "load_s": time.perf_counter() - t0}
    with torch.inference_mode():
        for s in LATENTS:
            t0, c0 = time.perf_counter(), time.process_time()
            eps = unet(inputs[f"sample{s}"], TIMESTEP, encoder_hidden_states=inputs["context"],
                       added_cond_kwargs={"text_embeds": inputs["text_embeds"], "time_ids": inputs[f"time_ids{s}"]}).sample
            res[f"forward{s}_s"] = time.perf_counter() - t0
            res[f"forward{s}_cpu_s"] = time.process_time() - c0
            eps.contiguous().numpy().astype("<f4").tofile(os.path.join(out_dir, f"pytorch{s}.f32"))
    res["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(res))


def cpu_jvm_options():
    """The JVM options the `jdiffusion` launcher runs the CPU backend with (scripts/cpu-jvm-options)."""
    with open(os.path.join(REPO, "scripts/cpu-jvm-options")) as f:
        options = [o for o in (line.split("#")[0].strip() for line in f) if o]
    thp = "/sys/kernel/mm/transparent_hugepage/enabled"  # as the launcher: huge pages only where offered
    if not os.path.exists(thp) or "[never]" in open(thp).read():
        options.remove("-XX:+UseTransparentHugePages")
    return options


def java_command(folder, threads, out_dir):
    java_home = subprocess.check_output([os.path.join(REPO, "scripts/find-jdk25")], text=True).strip()
    jar = os.path.join(REPO, "benchmarks/target/benchmarks.jar")
    return [os.path.join(java_home, "bin/java"), "--add-modules", "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED", "-Xss4m",
            # the launcher's heap, three quarters of the memory (on 24 GB the whole UNet is converted at
            # load; at 13 GB about 0.5 GiB of it stayed in the file, widened on every forward)
            "-Xmx" + os.environ["JDIFFUSION_XMX"] if os.environ.get("JDIFFUSION_XMX") else "-XX:MaxRAMPercentage=75",
            *cpu_jvm_options(),
            f"-Djava.util.concurrent.ForkJoinPool.common.parallelism={threads - 1}",
            # extra JVM flags to try (e.g. -XX:+AlwaysPreTouch: docs/benchmarks.md, first-touch page cost)
            *os.environ.get("JDIFFUSION_JVM_FLAGS", "").split(),
            "-cp", jar, "io.jdiffusion.benchmarks.TorchCompare", folder, out_dir]


def run_side(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        hint = " (killed: out of memory? each side needs about 11 GB)" if p.returncode in (-9, 137) else ""
        sys.exit(f"failed ({p.returncode}){hint}: {' '.join(cmd)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def max_abs_diff(out_dir, s):
    import numpy as np
    a = np.fromfile(os.path.join(out_dir, f"pytorch{s}.f32"), dtype="<f4")
    b = np.fromfile(os.path.join(out_dir, f"jdiffusion{s}.f32"), dtype="<f4")
    if a.shape != b.shape:
        sys.exit(f"output sizes differ at {s}x{s}: pytorch {a.shape}, jdiffusion {b.shape}")
    return float(np.abs(a - b).max()), float(np.abs(a).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="where the random-weight SDXL base unet/ and vae/ are (written on first use)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="threads per side (default 2)")
    ap.add_argument("--worker", choices=["torch"], help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rounds < 1 or a.threads < 1:
        sys.exit("--rounds and --threads must be at least 1")
    folder = os.path.abspath(a.folder)
    if a.worker == "torch":
        torch_worker(folder, a.threads, a.out)
        return
    os.makedirs(folder, exist_ok=True)
    # in a child process, so the fp16 model's memory is returned before the rounds start
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {HERE!r}); import compare; compare.write_models({folder!r})"], check=True)
    write_inputs(folder)
    if not os.path.exists(os.path.join(REPO, "benchmarks/target/benchmarks.jar")):
        subprocess.run([os.path.join(REPO, "mvnw"), "-o", "-q", "-B", "-ntp", "-pl", "benchmarks", "-am", "package", "-DskipTests"],
                       cwd=REPO, check=True, stdout=sys.stderr)
    out_dir = os.path.join(folder, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    sides = {
        "pytorch": [sys.executable, os.path.abspath(__file__), folder, "--worker", "torch", "--threads", str(a.threads), "--out", out_dir],
        "jdiffusion": java_command(folder, a.threads, out_dir),
    }
    runs = {"pytorch": [], "jdiffusion": []}
    diffs = {}
    for r in range(a.rounds):
        order = ["pytorch", "jdiffusion"] if r % 2 == 0 else ["jdiffusion", "pytorch"]
        for side in order:
            res = run_side(sides[side])
            runs[side].append(res)
            print(f"round {r + 1} {side}: {json.dumps(res)}", file=sys.stderr)
        for s in LATENTS:
            d, scale = max_abs_diff(out_dir, s)
            diffs[s] = max(diffs.get(s, 0.0), d)
            print(f"round {r + 1} {s}x{s}: max abs diff {d:.3g} (largest |output| {scale:.3g})", file=sys.stderr)
    med = lambda side, key: statistics.median(x[key] for x in runs[side])
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rounds": a.rounds,
              "load_avg_1m": os.getloadavg()[0], "cases": {}}
    # *_cpu_s: CPU seconds of the process during the forward (all its threads): on a shared machine
    # this depends less than wall time on how much of the cores other users left over
    for key in ["load_s"] + [f"forward{s}_s" for s in LATENTS] + [f"forward{s}_cpu_s" for s in LATENTS] + ["peak_rss_mib"]:
        case = {"pytorch": med("pytorch", key), "jdiffusion": med("jdiffusion", key)}
        case["ratio"] = case["jdiffusion"] / case["pytorch"]
        if key.startswith("forward") and not key.endswith("_cpu_s"):
            case["max_abs_diff"] = diffs[int(key[len("forward"):-2])]
        result["cases"][key] = case
    result["threads"] = {"pytorch": runs["pytorch"][0]["threads"], "jdiffusion": runs["jdiffusion"][0]["threads"]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
