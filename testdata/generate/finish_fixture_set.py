"""Completes a fixture set written by ../shared/refgen/make_fixtures.py so it has the layout of
testdata/tiny-sdxl (the generator deletes the tokenizer folders and does not write the inverted mask).

usage: finish_fixture_set.py TOKDIR SETDIR [--prefix-text-model]
  TOKDIR  a folder with tokenizer/ and tokenizer_2/ (e.g. testdata/tiny-sdxl/sdxl-base)
  SETDIR  the set make_fixtures.py wrote
  --prefix-text-model  rewrite text_encoder/model.safetensors with the `text_model.` key prefix that
                       transformers 4 (the official SDXL folders) writes, so both key forms get exercised
"""
import os, shutil, sys

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
if "--prefix-text-model" in sys.argv:
    from safetensors.torch import load_file, save_file
    p = os.path.join(root, "sdxl-base", "text_encoder", "model.safetensors")
    sd = load_file(p)
    if not any(k.startswith("text_model.") for k in sd):
        save_file({("text_model." + k if not k.startswith("text_projection") else k): v for k, v in sd.items()}, p,
                  metadata={"format": "pt"})
print("finished", root)
