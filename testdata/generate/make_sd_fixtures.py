"""Reference fixtures for Stable Diffusion 1.x / 2.x: tiny SD-shaped models with random weights,
saved in the diffusers folder layout, and the outputs that diffusers / transformers / torch compute
from them. Modelled on ../shared/refgen/make_fixtures.py (the SDXL generator); runs where torch +
diffusers import (`source /work/refenv/env.sh`).

usage: [FIXTURE_CONFIG=overrides.json] make_sd_fixtures.py FAMILY TOKDIR OUTDIR NAME
  FAMILY  sd15 (CLIP-L-like text encoder, conv projections, one head count, PNDM epsilon) or
          sd2  (OpenCLIP-H-like CLIPTextModel: gelu, pads with "!"; use_linear_projection,
                per-level attention_head_dim, DDIM v-prediction)
  TOKDIR  a CLIP BPE tokenizer folder (vocab.json + merges.txt), e.g. testdata/tiny-sdxl/sdxl-base/tokenizer
  NAME    folder name for this fixture set
FIXTURE_CONFIG=<file.json> replaces any upper-case configuration name below (shapes, heads, seeds,
prompts), e.g. {"H": 80, "W": 48, "UNET_CH": [8, 16, 24], "SEED_OFFSET": 100}.

The tokenizer is CLIP's with only its first TOKEN_MERGES merges (vocabulary 512 byte tokens + merges
+ the two special tokens, ids renumbered), so the set stays small: CLIP's BPE applies merges by rank,
so a prefix of the merge list is itself a complete, consistent CLIP tokenizer.
Everything is computed on the CPU in float32 from weights rounded to the dtype they are saved in.
"""
import json, os, shutil, sys, traceback

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

torch.use_deterministic_algorithms(True)
torch.set_num_threads(2)

FAMILY, TOK, OUT, NAME = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
if FAMILY not in ("sd15", "sd2"):
    sys.exit("FAMILY must be sd15 or sd2, got " + FAMILY)
ROOT = os.path.join(OUT, NAME)
os.makedirs(ROOT, exist_ok=True)
REF = {}
META = {"family": FAMILY, "cases": {}}
LOG = []


def put(name, t):
    REF[name] = t.detach().to(torch.float32).contiguous().cpu()


def stage(fn):
    try:
        fn()
        LOG.append(f"ok {fn.__name__}")
    except Exception:
        LOG.append(f"FAILED {fn.__name__}\n{traceback.format_exc()}")
        print(LOG[-1], flush=True)


def perturb(module, seed):
    """Random weights everywhere, norms and biases too (as the SDXL generator does)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim == 1:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / (fan_in ** 0.5))


def round_to(module, dtype):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


# ---------------------------------------------------------------- configs (per family, then overrides)
TOKEN_MERGES = 600
GROUPS, LAYERS = 4, 2
VAE_CH, VAE_GROUPS = (8, 16, 16, 16), 4
SEED_OFFSET = 0
if FAMILY == "sd15":
    TE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, hidden_act="quick_gelu")
    PAD_TOKEN = "<|endoftext|>"
    UNET_CH = (8, 16, 16)
    HEADS = 2                      # SD 1.x: one int, the head count of every level (diffusers' attention_head_dim)
    LINEAR_PROJECTION = False      # SD 1.x: 1x1-conv proj_in/proj_out
    DOWN = ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D")
    UP = ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")
    H, W = 64, 64
    SCHED_CLASS = "PNDMScheduler"
    PREDICTION = "epsilon"
else:
    TE = dict(hidden_size=24, intermediate_size=48, num_hidden_layers=3, num_attention_heads=3, hidden_act="gelu")
    PAD_TOKEN = "!"                # SD 2's tokenizer pads with "!" (id 0), like SDXL's tokenizer_2
    UNET_CH = (8, 16, 16)
    HEADS = (1, 2, 4)              # SD 2: a list, one head count per level
    LINEAR_PROJECTION = True
    DOWN = ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D")
    UP = ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")
    H, W = 64, 48                  # not square, and a latent width (6) that the UNet levels do not divide
    SCHED_CLASS = "DDIMScheduler"  # stable-diffusion-2 (768 px): DDIM, v-prediction
    PREDICTION = "v_prediction"

PROMPTS = ["a purple octopus", "a red gummy bear", "happy man with curly hair",
           "A Photo of   an ASTRONAUT riding a horse, 4k, highly-detailed!!", "",
           "it's the cat's pajamas; don't you think? 3.14159 & 42%",
           " ".join(["a very long prompt that keeps going"] * 14)]
PIPE_PROMPT = "a purple octopus"

if os.environ.get("FIXTURE_CONFIG"):
    for _k, _v in json.load(open(os.environ["FIXTURE_CONFIG"])).items():
        if not _k.isupper():
            sys.exit("FIXTURE_CONFIG: unknown name " + _k)
        globals()[_k] = tuple(_v) if isinstance(_v, list) and _k != "PROMPTS" else (dict(_v) if isinstance(_v, dict) else _v)

# the scheduler_config.json of the official SD 1.5 / SD 2 folders (diffusers fills in the rest)
SCHED_CFG = dict(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085, clip_sample=False,
                 num_train_timesteps=1000, prediction_type=PREDICTION, set_alpha_to_one=False, skip_prk_steps=True,
                 steps_offset=1, trained_betas=None)


def tiny_tokenizer(dst, pad_token):
    """CLIP's vocabulary cut to its first TOKEN_MERGES merges: ids 0..511 bytes, then one id per merge,
    then <|startoftext|>, <|endoftext|>."""
    vocab = json.load(open(os.path.join(TOK, "vocab.json"), encoding="utf-8"))
    merges = [l for l in open(os.path.join(TOK, "merges.txt"), encoding="utf-8").read().split("\n")[1:] if l]
    inv = sorted(vocab.items(), key=lambda kv: kv[1])
    keep = [t for t, i in inv[:512 + TOKEN_MERGES]]
    for i, m in enumerate(merges[:TOKEN_MERGES]):
        assert keep[512 + i] == "".join(m.split()), "vocab.json is not in CLIP's merge order"
    keep += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(dst, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(keep)}, f, ensure_ascii=False)
    with open(os.path.join(dst, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges[:TOKEN_MERGES]) + "\n")
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": pad_token, "unk_token": "<|endoftext|>"}
    with open(os.path.join(dst, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)
    with open(os.path.join(dst, "tokenizer_config.json"), "w") as f:
        json.dump(dict(special, model_max_length=77, do_lower_case=True, errors="replace", add_prefix_space=False,
                       tokenizer_class="CLIPTokenizer"), f, indent=2)
    return len(keep)


def main():
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    from diffusers import (AutoencoderKL, DDIMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
                           DPMSolverMultistepScheduler, PNDMScheduler, StableDiffusionPipeline,
                           StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline, UNet2DConditionModel)
    classes = {"PNDMScheduler": PNDMScheduler, "DDIMScheduler": DDIMScheduler, "EulerDiscreteScheduler": EulerDiscreteScheduler,
               "EulerAncestralDiscreteScheduler": EulerAncestralDiscreteScheduler,
               "DPMSolverMultistepScheduler": DPMSolverMultistepScheduler}

    tokdir = os.path.join(ROOT, "sd", "tokenizer")
    vocab_size = tiny_tokenizer(tokdir, PAD_TOKEN)
    tok = CLIPTokenizer.from_pretrained(tokdir)

    def tokenizer():
        META["tokenizer"] = []
        for p in PROMPTS:
            ids = tok(p, padding="max_length", max_length=77, truncation=True).input_ids
            META["tokenizer"].append({"prompt": p, "tokenizer": ids, "untruncated": tok(p, truncation=False).input_ids})
    stage(tokenizer)

    torch.manual_seed(0)
    te = CLIPTextModel(CLIPTextConfig(vocab_size=vocab_size, max_position_embeddings=77, layer_norm_eps=1e-5,
                                      bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=1,
                                      projection_dim=TE["hidden_size"], **TE)).eval()
    cross = TE["hidden_size"]
    common = dict(sample_size=H // 8, out_channels=4, layers_per_block=LAYERS, block_out_channels=UNET_CH,
                  attention_head_dim=HEADS, down_block_types=DOWN, up_block_types=UP, cross_attention_dim=cross,
                  use_linear_projection=LINEAR_PROJECTION, norm_num_groups=GROUPS)
    unet = UNet2DConditionModel(in_channels=4, **common).eval()
    inpaint = UNet2DConditionModel(in_channels=9, **common).eval()
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * len(VAE_CH),
                        up_block_types=["UpDecoderBlock2D"] * len(VAE_CH), block_out_channels=VAE_CH, layers_per_block=2,
                        latent_channels=4, norm_num_groups=VAE_GROUPS, sample_size=H, scaling_factor=0.18215).eval()
    seeds = {"te": 21, "unet": 23, "inpaint": 24, "vae": 26}
    dtypes = {"te": torch.float16, "unet": torch.float16, "inpaint": torch.float16, "vae": torch.float16}
    mods = {"te": te, "unet": unet, "inpaint": inpaint, "vae": vae}
    for k, m in mods.items():
        perturb(m, seeds[k] + SEED_OFFSET)
        round_to(m, dtypes[k])
    META["weight_dtypes"] = {k: str(v) for k, v in dtypes.items()}

    model_scheduler = classes[SCHED_CLASS].from_config(SCHED_CFG)

    def sd_pipe(cls, u, sched_name=SCHED_CLASS):
        # another scheduler as users switch: X.from_config(pipe.scheduler.config), which passes on the keys the
        # model's scheduler_config.json sets (diffusers drops those that were only the source class's defaults)
        sched = classes[sched_name].from_config(model_scheduler.config)
        return cls(vae=vae, text_encoder=te, tokenizer=tok, unet=u, scheduler=sched,
                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)

    pipe = sd_pipe(StableDiffusionPipeline, unet)

    def save_models():
        d = os.path.join(ROOT, "sd")
        pipe.save_pretrained(d, safe_serialization=True)
        for comp, key in (("text_encoder", "te"), ("unet", "unet"), ("vae", "vae")):
            m = getattr(pipe, comp)
            m.to(dtypes[key]).save_pretrained(os.path.join(d, comp), safe_serialization=True)
            m.to(torch.float32)
        shutil.rmtree(os.path.join(d, "tokenizer"), ignore_errors=True)
        tiny_tokenizer(os.path.join(d, "tokenizer"), PAD_TOKEN)   # the hand-written files, not transformers' tokenizer.json
        with open(os.path.join(d, "scheduler", "scheduler_config.json"), "w") as f:   # the keys the official files have
            json.dump(dict(SCHED_CFG, _class_name=SCHED_CLASS), f, indent=2)
        inpaint.to(dtypes["inpaint"]).save_pretrained(os.path.join(ROOT, "sd-inpaint", "unet"), safe_serialization=True)
        inpaint.to(torch.float32)
    stage(save_models)

    g = torch.Generator().manual_seed(1234 + SEED_OFFSET)

    def text_encoder():
        ids = torch.tensor([tok(p, padding="max_length", max_length=77, truncation=True).input_ids for p in PROMPTS[:4]])
        put("te/input_ids", ids)
        with torch.no_grad():
            o = te(ids, output_hidden_states=True)
        put("te/last_hidden_state", o.last_hidden_state)
        put("te/penultimate", o.hidden_states[-2])
        put("te/pooler_output", o.pooler_output)
    stage(text_encoder)

    def encode_prompt():
        with torch.no_grad():
            for i, (p, n) in enumerate([("a purple octopus", None), ("a red gummy bear", "blurry, low quality"),
                                        ("happy man with curly hair", "")]):
                pe, npe = pipe.encode_prompt(prompt=p, device="cpu", num_images_per_prompt=1,
                                             do_classifier_free_guidance=True, negative_prompt=n)
                put(f"encode_prompt/{i}/prompt_embeds", pe)
                put(f"encode_prompt/{i}/negative_prompt_embeds", npe)
                META["cases"][f"encode_prompt/{i}"] = {"prompt": p, "negative_prompt": n}
    stage(encode_prompt)

    def unets():
        h, w = H // 8, W // 8
        for name, u, cin in (("unet", unet, 4), ("inpaint", inpaint, 9)):
            x = torch.randn((2, cin, h, w), generator=g)
            ctx = torch.randn((2, 77, cross), generator=g)
            for t in (999, 500, 1):
                with torch.no_grad():
                    put(f"unet/{name}/t{t}/out", u(x, torch.tensor(t), encoder_hidden_states=ctx).sample)
            put(f"unet/{name}/sample", x)
            put(f"unet/{name}/encoder_hidden_states", ctx)
        META["unet_folders"] = {"unet": "sd/unet", "inpaint": "sd-inpaint/unet"}
    stage(unets)

    def vaes():
        img = torch.rand((1, 3, H, W), generator=g) * 2 - 1
        with torch.no_grad():
            dist = vae.encode(img).latent_dist
            put("vae/image", img)
            put("vae/mean", dist.mean)
            put("vae/logvar", dist.logvar)
            lat = torch.randn((1, 4, H // 8, W // 8), generator=g)
            put("vae/latents", lat)
            put("vae/decoded", vae.decode(lat).sample)
    stage(vaes)

    def schedulers():
        """As the SDXL set (same trajectory recipe), with PNDM added and SD's config as the base."""
        META["schedulers"] = []
        kinds = {"euler": "EulerDiscreteScheduler", "euler_a": "EulerAncestralDiscreteScheduler", "ddim": "DDIMScheduler",
                 "dpmpp_2m": "DPMSolverMultistepScheduler", "pndm": "PNDMScheduler"}
        variants = [("leading", {"prediction_type": "epsilon"}), ("trailing", {"timestep_spacing": "trailing", "prediction_type": "epsilon"}),
                    ("linspace", {"timestep_spacing": "linspace", "prediction_type": "epsilon"}),
                    ("karras", {"use_karras_sigmas": True, "prediction_type": "epsilon"}),
                    ("vpred", {"prediction_type": "v_prediction"}),
                    ("prk", {"skip_prk_steps": False, "prediction_type": "epsilon"}),
                    ("prk_vpred", {"skip_prk_steps": False, "prediction_type": "v_prediction"})]
        for kname, cname in kinds.items():
            for vname, extra in variants:
                if vname == "karras" and kname in ("ddim", "pndm"):
                    continue
                if vname.startswith("prk") and kname != "pndm":
                    continue
                for n in (1, 4, 25, 50):
                    if vname.startswith("prk") and n == 1:    # diffusers' PRK warm-up needs at least 2 steps
                        continue
                    try:
                        cfg = dict(SCHED_CFG, **extra)
                        s = classes[cname].from_config(cfg)
                        s.set_timesteps(n)
                        key = f"sched/{kname}/{vname}/{n}"
                        put(key + "/timesteps", s.timesteps.to(torch.float64))
                        if hasattr(s, "sigmas"):
                            put(key + "/sigmas", torch.as_tensor(s.sigmas, dtype=torch.float64))
                        put(key + "/init_noise_sigma", torch.tensor([float(s.init_noise_sigma)]))
                        if n == 4:
                            x = torch.randn((1, 4, 8, 8), generator=torch.Generator().manual_seed(5))
                            xs = []
                            gen = torch.Generator().manual_seed(6)
                            for t in s.timesteps:
                                xin = s.scale_model_input(x, t)
                                eps = torch.sin(xin * 3.0 + float(t) / 100.0)
                                kw = {} if kname == "pndm" else {"generator": gen}
                                x = s.step(eps, t, x, **kw).prev_sample
                                xs.append(x)
                            put(key + "/trajectory", torch.stack(xs))
                        META["schedulers"].append({"kind": kname, "variant": vname, "steps": n, "config": cfg,
                                                   "class_name": cname, "key": key})
                    except Exception:
                        LOG.append(f"FAILED scheduler {kname}/{vname}/{n}\n{traceback.format_exc()}")
    stage(schedulers)

    def images():
        yy, xx = np.mgrid[0:H, 0:W]
        rgb = np.stack([(xx * 255 // max(W - 1, 1)), (yy * 255 // max(H - 1, 1)), ((xx + yy) * 3) % 256], -1).astype(np.uint8)
        init = Image.fromarray(rgb, "RGB")
        m = np.zeros((H, W), np.uint8)
        m[H // 4: H // 2 + H // 8, W // 3: W // 3 + W // 4] = 255
        mask = Image.fromarray(m, "L")
        init.save(os.path.join(ROOT, "init.png"))
        mask.save(os.path.join(ROOT, "mask.png"))
        return init, mask
    init, mask = images()

    def record(name, pipeline, **kw):
        steps = []

        def cb(p, i, t, tensors):
            steps.append((float(t), tensors["latents"].clone()))
            return {}
        kw.setdefault("output_type", "np")
        seed = kw.pop("seed")
        with torch.no_grad():
            out = pipeline(generator=torch.Generator("cpu").manual_seed(seed), callback_on_step_end=cb, **kw)
        arr = out.images
        arr = torch.from_numpy(np.asarray(arr)) if not torch.is_tensor(arr) else arr
        put(f"pipe/{name}/output", arr)
        put(f"pipe/{name}/step_latents", torch.stack([s[1] for s in steps]))
        put(f"pipe/{name}/step_timesteps", torch.tensor([s[0] for s in steps], dtype=torch.float64))
        files = {id(init): "init.png", id(mask): "mask.png"}           # input images by the file they were saved to
        args = {k: files.get(id(v), v if isinstance(v, (int, float, str, type(None), list, tuple)) else f"<{type(v).__name__}>")
                for k, v in kw.items()}
        META["cases"][f"pipe/{name}"] = dict(args, seed=seed, pipeline=type(pipeline).__name__,
                                            scheduler=type(pipeline.scheduler).__name__,
                                            scheduler_config=dict(pipeline.scheduler.config),
                                            unet="sd-inpaint/unet" if pipeline.unet is inpaint else "sd/unet")
        return out.images

    def pipelines():
        P = PIPE_PROMPT
        other = "EulerDiscreteScheduler"
        record("txt2img", pipe, seed=0, prompt=P, height=H, width=W, num_inference_steps=4, guidance_scale=7.5)
        record("txt2img_euler", sd_pipe(StableDiffusionPipeline, unet, other), seed=1, prompt="a red gummy bear",
               negative_prompt="blurry", height=H, width=W, num_inference_steps=5, guidance_scale=6.0)
        record("txt2img_nocfg", sd_pipe(StableDiffusionPipeline, unet, "PNDMScheduler"), seed=2, prompt=P, height=H, width=W,
               num_inference_steps=3, guidance_scale=1.0)
        record("img2img", sd_pipe(StableDiffusionImg2ImgPipeline, unet), seed=3, prompt=P, image=init,
               num_inference_steps=6, guidance_scale=7.5, strength=0.6)
        record("inpaint9", sd_pipe(StableDiffusionInpaintPipeline, inpaint), seed=4, prompt=P, image=init,
               mask_image=mask, height=H, width=W, num_inference_steps=4, guidance_scale=7.5, strength=1.0)
        record("inpaint9_strength", sd_pipe(StableDiffusionInpaintPipeline, inpaint, other), seed=5, prompt=P,
               image=init, mask_image=mask, height=H, width=W, num_inference_steps=5, guidance_scale=7.5, strength=0.75)
        record("inpaint4", sd_pipe(StableDiffusionInpaintPipeline, unet), seed=6, prompt=P, image=init,
               mask_image=mask, height=H, width=W, num_inference_steps=4, guidance_scale=7.5, strength=1.0)
    stage(pipelines)


stage(main)
save_file(REF, os.path.join(ROOT, "reference.safetensors"))
with open(os.path.join(ROOT, "reference.json"), "w") as f:
    json.dump(META, f, indent=1, default=str)
try:   # clip_skip cases, from the saved folder (the same script adds them to sets made before it existed)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import add_clip_skip
    add_clip_skip.add(ROOT)
    LOG.append("ok add_clip_skip")
except Exception:
    LOG.append(f"FAILED add_clip_skip\n{traceback.format_exc()}")
print("\n".join(l.splitlines()[0] for l in LOG))
if any(l.startswith("FAILED") for l in LOG):
    sys.exit("some stages failed (tracebacks above)")
