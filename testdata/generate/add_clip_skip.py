"""Adds diffusers' clip_skip prompt embeddings to an SD 1/2 fixture set made by make_sd_fixtures.py.

    python generate/add_clip_skip.py tiny-sd15

For each (prompt, negative_prompt, clip_skip) case: StableDiffusionPipeline.encode_prompt(..., clip_skip=k)
on the set's sd/ folder (weights read as stored, computed in float32), stored as
encode_prompt/clip_skip/<i>/{prompt_embeds, negative_prompt_embeds} in reference.safetensors and
described under cases["encode_prompt/clip_skip/<i>"] in reference.json. The other tensors are kept as
they are. make_sd_fixtures.py runs this on every set it makes.
"""
import json, os, sys

import torch
from safetensors.torch import load_file, save_file

CASES = [("a purple octopus", None, 1), ("a red gummy bear", "blurry, low quality", 2), ("happy man with curly hair", "", 0)]


def add(root):
    from diffusers import StableDiffusionPipeline
    torch.use_deterministic_algorithms(True)
    pipe = StableDiffusionPipeline.from_pretrained(os.path.join(root, "sd"), torch_dtype=torch.float32,
                                                   safety_checker=None, requires_safety_checker=False)
    te = pipe.text_encoder
    if not hasattr(te, "text_model"):
        # transformers 5 flattened CLIPTextModel (embeddings, encoder, final_layer_norm at the top), while diffusers'
        # clip_skip branch still reads text_encoder.text_model.final_layer_norm: point text_model at the model itself
        # (outside torch's module registry, so nothing is registered twice)
        object.__setattr__(te, "text_model", te)
    ref = load_file(os.path.join(root, "reference.safetensors"))
    with open(os.path.join(root, "reference.json")) as f:
        meta = json.load(f)
    with torch.no_grad():
        for i, (p, n, k) in enumerate(CASES):
            pe, npe = pipe.encode_prompt(prompt=p, device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=True,
                                         negative_prompt=n, clip_skip=k)
            ref[f"encode_prompt/clip_skip/{i}/prompt_embeds"] = pe.float().contiguous()
            ref[f"encode_prompt/clip_skip/{i}/negative_prompt_embeds"] = npe.float().contiguous()
            meta["cases"][f"encode_prompt/clip_skip/{i}"] = {"prompt": p, "negative_prompt": n, "clip_skip": k}
    save_file(ref, os.path.join(root, "reference.safetensors"))
    with open(os.path.join(root, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)


if __name__ == "__main__":
    for r in sys.argv[1:]:
        add(r)
