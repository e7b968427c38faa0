"""Completes a fixture set written by ../shared/refgen/make_fixtures.py so it has the layout of
testdata/tiny-sdxl (the generator deletes the tokenizer folders and does not write the inverted mask).

usage: finish_fixture_set.py TOKDIR SETDIR [--prefix-text-model]
  TOKDIR  a folder with tokenizer/ and tokenizer_2/ (e.g. testdata/tiny-sdxl/sdxl-base); the
          reference.json one level above it is the template of the case annotations
  SETDIR  the set make_fixtures.py wrote

The generator records a pipeline case's image arguments only as "<Image>"/"<Tensor>"; the documented
layout names the model folder, UNet override, input files, latents source and output tensors of each
case. Those depend only on the case (the generator defines the same cases for every shape), so they
are copied from the template's reference.json.
  --prefix-text-model  rewrite text_encoder/model.safetensors with the `text_model.` key prefix that
                       transformers 4 (the official SDXL folders) writes, so both key forms get exercised
"""
import json, os, shutil, sys

import numpy as np
from PIL import Image

tok, root = sys.argv[1], sys.argv[2]
for folder, names in (("sdxl-base", ("tokenizer", "tokenizer_2")), ("sdxl-refiner", ("tokenizer_2",))):
    for t in names:
        dst = os.path.join(root, folder, t)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(os.path.join(tok, t), dst)
# the outpaint case's mask, as the generator computes it: 255 - mask
mask = np.asarray(Image.open(os.path.join(root, "mask.png")).convert("L"))
Image.fromarray(255 - mask, "L").save(os.path.join(root, "mask_inverted.png"))
ANNOTATIONS = ("model", "unet_override", "image", "mask_image", "outputs")
template = json.load(open(os.path.join(tok, "..", "reference.json")))["cases"]
ref_path = os.path.join(root, "reference.json")
ref = json.load(open(ref_path))
for name, case in ref["cases"].items():
    if name.startswith("pipe/"):
        if name not in template:
            raise SystemExit(f"case {name} is not in the template reference.json: annotate it by hand")
        for k in ANNOTATIONS:
            if k in template[name]:
                case[k] = template[name][k]
with open(ref_path, "w") as f:
    json.dump(ref, f, indent=1)
if "--prefix-text-model" in sys.argv:
    from safetensors.torch import load_file, save_file
    p = os.path.join(root, "sdxl-base", "text_encoder", "model.safetensors")
    sd = load_file(p)
    if not any(k.startswith("text_model.") for k in sd):
        save_file({("text_model." + k if not k.startswith("text_projection") else k): v for k, v in sd.items()}, p,
                  metadata={"format": "pt"})
print("finished", root)
