"""LoRA fixtures: tiny random LoRA adapters for the tiny SDXL base model, in the PEFT/diffusers layout
(what `StableDiffusionXLPipeline.save_lora_weights` writes) and converted to the kohya/A1111 layout (by
diffusers' own `convert_state_dict_to_kohya`), and what diffusers computes with them: the per-step and
final latents of txt2img with one adapter and with two adapters at different scales.

usage: [FIXTURE_CONFIG=overrides.json] make_lora_fixtures.py FIXTURE_SET OUTDIR
  FIXTURE_SET  a fixture set of the testdata/tiny-sdxl layout (its sdxl-base/ is the model)
  OUTDIR       where the adapters, reference.json and reference.safetensors go
Adapter weights are rounded to F16 (the dtype they are stored in) before diffusers uses them, so a
float32 re-implementation that reads the stored weights should match to ~1e-5 per module.
"""
import json, os, sys

import torch
from safetensors.torch import save_file

torch.use_deterministic_algorithms(True)
torch.set_num_threads(8)

SET, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)

# Each adapter: rank, alpha (kohya file's scale alpha/rank; a power of two), seed, and which modules of which component it adapts
# (module-name suffixes). "a" covers UNet attention + 3x3 convolutions (LoCon) + both text encoders'
# attention; "b" other UNet layers (feed-forward, projections) and overlaps "a" on several layers.
ADAPTERS = {
    "a": dict(rank=4, alpha=8.0, seed=101,
              unet=["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"],
              text_encoder=["q_proj", "k_proj", "v_proj", "out_proj"],
              text_encoder_2=["q_proj", "k_proj", "v_proj", "out_proj"]),
    "b": dict(rank=2, alpha=1.0, seed=202,
              unet=["to_k", "to_v", "ff.net.2", "proj_in", "proj_out"],
              # diffusers 58eb52c reads text-encoder LoRA on attention only, and its kohya reader only
              # recognises a text encoder's adapter when out_proj is among the targets
              text_encoder=["k_proj", "out_proj"],
              text_encoder_2=["q_proj", "out_proj"]),
}
CASES = {  # case -> (adapters, scales)
    "lora_one": (["a"], [0.8]),
    "lora_two": (["a", "b"], [0.6, 1.5]),
}
PROMPT, NEGATIVE, SEED, STEPS, GUIDANCE = "a purple octopus", "blurry", 21, 3, 5.0

if os.environ.get("FIXTURE_CONFIG"):
    for _k, _v in json.load(open(os.environ["FIXTURE_CONFIG"])).items():
        globals()[_k] = _v


def lora_layers(component, module, spec):
    """PEFT-layout LoRA tensors for every module of `module` whose name ends with one of the suffixes."""
    g = torch.Generator().manual_seed(spec["seed"] + {"unet": 0, "text_encoder": 1, "text_encoder_2": 2}[component])
    r, out = spec["rank"], {}
    for name, m in module.named_modules():
        if not any(name == s or name.endswith("." + s) for s in spec[component]):
            continue
        if isinstance(m, torch.nn.Linear):
            a = torch.randn((r, m.in_features), generator=g) / m.in_features ** 0.5
            b = torch.randn((m.out_features, r), generator=g) * 0.2 / r ** 0.5
        elif isinstance(m, torch.nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            a = torch.randn((r, m.in_channels, *m.kernel_size), generator=g) / fan_in ** 0.5
            b = torch.randn((m.out_channels, r, 1, 1), generator=g) * 0.2 / r ** 0.5
        else:
            continue
        out[f"{component}.{name}.lora_A.weight"] = a.to(torch.float16)
        out[f"{component}.{name}.lora_B.weight"] = b.to(torch.float16)
    if not out:
        raise SystemExit(f"adapter targets {spec[component]} match no module of {component}")
    return out


def main():
    from diffusers import StableDiffusionXLPipeline
    from diffusers.utils import convert_state_dict_to_kohya

    pipe = StableDiffusionXLPipeline.from_pretrained(os.path.join(SET, "sdxl-base"), dtype=torch.float32,
                                                     add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    side = pipe.unet.config.sample_size * pipe.vae_scale_factor
    meta = {"adapters": {}, "cases": {}}
    for name, spec in ADAPTERS.items():
        sd = {}
        for comp in ("unet", "text_encoder", "text_encoder_2"):
            sd.update(lora_layers(comp, getattr(pipe, comp), spec))
        # PEFT file: no alpha is stored, so diffusers (like every reader) takes alpha = rank, scale 1
        peft_file = f"{name}-peft.safetensors"
        save_file(sd, os.path.join(OUT, peft_file), metadata={"format": "pt"})
        # kohya file (diffusers' conversion) with the adapter's own alpha; lora_up is divided by alpha/rank
        # (a power of two, so exactly) to keep its effect equal to the PEFT file's: the kohya reader must
        # apply the alpha/rank scale for the two to agree.
        ratio = spec["alpha"] / spec["rank"]
        assert ratio > 0 and float(ratio).hex().startswith("0x1.0000000000000p"), "alpha/rank must be a power of two"
        kohya = convert_state_dict_to_kohya(sd)
        for k in list(kohya):
            if k.endswith(".alpha"):
                kohya[k] = torch.tensor(spec["alpha"], dtype=torch.float16)
            elif ".lora_up." in k:
                kohya[k] = (kohya[k].float() / ratio).to(torch.float16)
        kohya_file = f"{name}-kohya.safetensors"
        save_file(kohya, os.path.join(OUT, kohya_file), metadata={"format": "pt"})
        meta["adapters"][name] = dict(spec, peft=peft_file, kohya=kohya_file, layers=len(sd) // 2)

    REF = {}

    def run(case, files, names, scales):
        pipe.unload_lora_weights()
        for f, n in zip(files, names):
            pipe.load_lora_weights(os.path.join(OUT, f), adapter_name=n)
        if names:
            pipe.set_adapters(names, adapter_weights=scales)
        steps = []

        def cb(p, i, t, tensors):
            steps.append(tensors["latents"].clone())
            return {}
        with torch.no_grad():
            out = pipe(prompt=PROMPT, negative_prompt=NEGATIVE, height=side, width=side, num_inference_steps=STEPS,
                       guidance_scale=GUIDANCE, output_type="latent", callback_on_step_end=cb,
                       generator=torch.Generator("cpu").manual_seed(SEED)).images
        return out, torch.stack(steps)

    base_out, _ = run("none", [], [], [])
    zero, _ = run("zero", [meta["adapters"]["a"]["peft"]], ["a"], [0.0])
    assert float((zero - base_out).abs().max()) == 0.0, "an adapter at scale 0 changed the result: base weights disturbed"
    for case, (names, scales) in CASES.items():
        out, steps = run(case, [meta["adapters"][n]["peft"] for n in names], names, scales)
        REF[f"pipe/{case}/output"] = out.contiguous()
        REF[f"pipe/{case}/step_latents"] = steps.contiguous()
        kout, _ = run(case, [meta["adapters"][n]["kohya"] for n in names], names, scales)
        kohya_diff = float((kout - out).abs().max())
        lora_effect = float((out - base_out).abs().max())
        # diffusers folds alpha/rank into both factors (sqrt each), so float rounding differs a little
        assert kohya_diff < 1e-4, f"diffusers reads the kohya file differently: {kohya_diff}"
        assert lora_effect > 1e-2, f"the adapters barely change the result ({lora_effect}): the test could not fail"
        meta["cases"][f"pipe/{case}"] = dict(adapters=names, scales=scales, prompt=PROMPT, negative_prompt=NEGATIVE,
                                             seed=SEED, num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                                             height=side, width=side, output_type="latent", model="sdxl-base",
                                             pipeline=type(pipe).__name__, scheduler=type(pipe.scheduler).__name__,
                                             outputs={"output": f"pipe/{case}/output", "step_latents": f"pipe/{case}/step_latents"},
                                             diffusers_kohya_vs_peft_max_abs=kohya_diff, max_abs_change_from_base=lora_effect)
    save_file(REF, os.path.join(OUT, "reference.safetensors"))
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta["cases"], indent=1))


main()
