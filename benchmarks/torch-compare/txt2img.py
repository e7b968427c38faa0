#!/usr/bin/env python3
"""End to end, one process per run: the command line's `jdiffusion txt2img` against diffusers'
StableDiffusionXLPipeline on the same full-size SDXL base folder (random weights, fp16 files), the
same prompt, seed, size, steps and guidance, on the same number of threads.

    source /work/refenv/env.sh     # or ../shared/refgen/setup-env.sh: PyTorch 2.13 CPU + diffusers
    python benchmarks/torch-compare/txt2img.py /path/to/models [--size 512] [--steps 2] [--rounds 3]

The folder is compare.py's (its unet/ and vae/ are reused or written); this script adds what a
pipeline folder needs besides: both text encoders of the official configs with random weights as
the fp16 variant, the CLIP tokenizers (the real vocabulary, from testdata), the scheduler config and
model_index.json. Each round starts one process per side, alternating which goes first; each
process loads the folder, generates one picture and writes it as PNG. Wall time of the whole
process (start to exit, as a user sees it) and its peak RSS (wait4's ru_maxrss) are measured from
outside. The medians over the rounds, the ratio jdiffusion/diffusers and the largest difference
between the two pictures (in 1/255) are printed as one JSON line (last line of stdout).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CONFIGS = os.path.join(REPO, "pipelines/src/main/resources/io/jdiffusion/pipelines/configs/sdxl-base")
TOKENIZERS = os.path.join(REPO, "testdata/tiny-sdxl/sdxl-base")
PROMPT = "a photo of an astronaut riding a horse on the moon"
NEGATIVE = "blurry, low quality"


def write_pipeline_folder(folder):
    """Adds the text encoders, tokenizers, scheduler and model_index.json beside compare.py's unet/ and vae/."""
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
    sys.path.insert(0, HERE)
    import compare
    compare.write_models(folder)
    torch.manual_seed(1)
    torch.set_default_dtype(torch.float16)
    def save(model, out):
        model.save_pretrained(out)
        # the fp16 variant's file name, as the Hub's SDXL folders have it (diffusers' variant="fp16")
        os.replace(os.path.join(out, "model.safetensors"), os.path.join(out, "model.fp16.safetensors"))
    for name, cls in (("text_encoder", CLIPTextModel), ("text_encoder_2", CLIPTextModelWithProjection)):
        compare.write_random_fp16(folder, name, "model.fp16.safetensors",
                                  lambda: cls(CLIPTextConfig.from_pretrained(os.path.join(CONFIGS, name))), save)
    torch.set_default_dtype(torch.float32)
    for name in ("tokenizer", "tokenizer_2"):
        if not os.path.exists(os.path.join(folder, name)):
            shutil.copytree(os.path.join(TOKENIZERS, name), os.path.join(folder, name))
    if not os.path.exists(os.path.join(folder, "scheduler")):
        shutil.copytree(os.path.join(CONFIGS, "scheduler"), os.path.join(folder, "scheduler"))
    shutil.copyfile(os.path.join(CONFIGS, "model_index.json"), os.path.join(folder, "model_index.json"))


def diffusers_worker(folder, a, out_png):
    """One diffusers process: load the pipeline (fp16 files, fp32 compute), generate, save the PNG."""
    import torch
    from diffusers import StableDiffusionXLPipeline
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    pipe = StableDiffusionXLPipeline.from_pretrained(folder, variant="fp16", dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    g = torch.Generator("cpu").manual_seed(a.seed)
    image = pipe(PROMPT, negative_prompt=NEGATIVE, width=a.size, height=a.size, num_inference_steps=a.steps,
                 guidance_scale=a.guidance, generator=g).images[0]
    image.save(out_png)


def jdiffusion_command(folder, a, out_png):
    return [os.path.join(REPO, "jdiffusion"), "txt2img", "--model", folder, "--prompt", PROMPT,
            "--negative-prompt", NEGATIVE, "--width", str(a.size), "--height", str(a.size), "--steps", str(a.steps),
            "--guidance", str(a.guidance), "--seed", str(a.seed), "--quiet", "-o", out_png]


def timed(cmd, env=None):
    """Runs one side as its own process: wall seconds and peak RSS (MiB) of that process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        hint = " (killed: out of memory?)" if code in (-9, 137) else ""
        sys.exit(f"failed ({code}){hint}: {' '.join(cmd)}")
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024.0}


def max_diff_255(a_png, b_png):
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(a_png).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(b_png).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        sys.exit(f"picture sizes differ: diffusers {a.shape}, jdiffusion {b.shape}")
    return int(np.abs(a - b).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="compare.py's folder (unet/, vae/); the rest of the pipeline is added on first use")
    ap.add_argument("--size", type=int, default=512, help="width and height in pixels (default 512)")
    ap.add_argument("--steps", type=int, default=2, help="inference steps (default 2)")
    ap.add_argument("--guidance", type=float, default=5.0, help="guidance scale (default 5; > 1 means CFG)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="threads per side (default 2)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rounds < 1 or a.threads < 1 or a.steps < 1 or a.size < 64 or a.size % 8:
        sys.exit("--rounds, --threads and --steps must be at least 1; --size a multiple of 8, at least 64")
    folder = os.path.abspath(a.folder)
    if a.worker:
        diffusers_worker(folder, a, a.out)
        return
    os.makedirs(folder, exist_ok=True)
    # in a child process, so the writer's memory is returned before the rounds start
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {HERE!r}); import txt2img; "
                    f"txt2img.write_pipeline_folder({folder!r})"], check=True)
    out_dir = os.path.join(folder, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    pngs = {"diffusers": os.path.join(out_dir, "txt2img-diffusers.png"), "jdiffusion": os.path.join(out_dir, "txt2img-jdiffusion.png")}
    common = ["--size", str(a.size), "--steps", str(a.steps), "--guidance", str(a.guidance), "--seed", str(a.seed), "--threads", str(a.threads)]
    env = dict(os.environ)
    # the launcher's own heap (three quarters of the memory) unless JDIFFUSION_XMX says otherwise; the threads
    options = [f"-Djava.util.concurrent.ForkJoinPool.common.parallelism={a.threads - 1}"]
    if os.environ.get("JDIFFUSION_XMX"):
        options.append("-Xmx" + os.environ["JDIFFUSION_XMX"])
    env["JDK_JAVA_OPTIONS"] = " ".join(options)
    sides = {
        "diffusers": ([sys.executable, os.path.abspath(__file__), folder, "--worker", "--out", pngs["diffusers"]] + common, None),
        "jdiffusion": (jdiffusion_command(folder, a, pngs["jdiffusion"]), env),
    }
    # ./jdiffusion builds on first use: not part of a timed round
    subprocess.run([os.path.join(REPO, "jdiffusion"), "--version"], check=True, stdout=subprocess.DEVNULL)
    runs = {"diffusers": [], "jdiffusion": []}
    worst = 0
    for r in range(a.rounds):
        order = ["diffusers", "jdiffusion"] if r % 2 == 0 else ["jdiffusion", "diffusers"]
        for side in order:
            cmd, side_env = sides[side]
            res = timed(cmd, side_env)
            runs[side].append(res)
            print(f"round {r + 1} {side}: {json.dumps(res)}", file=sys.stderr)
        d = max_diff_255(pngs["diffusers"], pngs["jdiffusion"])
        worst = max(worst, d)
        print(f"round {r + 1}: pictures differ by at most {d}/255", file=sys.stderr)
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rounds": a.rounds, "size": a.size,
              "steps": a.steps, "guidance": a.guidance, "threads": a.threads, "load_avg_1m": os.getloadavg()[0],
              "max_pixel_diff_255": worst, "cases": {}}
    for key in ("wall_s", "peak_rss_mib"):
        case = {side: statistics.median(x[key] for x in runs[side]) for side in runs}
        case["ratio"] = case["jdiffusion"] / case["diffusers"]
        result["cases"][key] = case
    print(json.dumps(result))


if __name__ == "__main__":
    main()
