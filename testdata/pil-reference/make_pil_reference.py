"""Ground truth for the image-layer tests, produced by the real libraries.

Run with Pillow and OpenCV installed (this set: Pillow 12.3.0, opencv-python-headless 5.0.0,
numpy), from this folder (testdata/pil-reference):  python make_pil_reference.py
Writes *.png (inputs and PIL/cv2 outputs, all lossless PNG) and index.json, which lists
every case: operation, parameters, input file, output file. The Java tests only read these files.
"""
import json, os
import numpy as np
from PIL import Image, ImageFilter
import PIL, cv2

out = "."
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1234)
cases = []

def save(name, im):
    im.save(os.path.join(out, name))
    return name

# A 37x29 RGB source: smooth gradients + noise + a sharp block, so ringing and clipping show up.
H, W = 29, 37
yy, xx = np.mgrid[0:H, 0:W]
base = np.stack([xx * 255 / (W - 1), yy * 255 / (H - 1), (xx + yy) * 255 / (W + H - 2)], -1)
noise = rng.integers(-60, 61, size=(H, W, 3))
rgb = np.clip(base + noise, 0, 255).astype(np.uint8)
rgb[8:15, 10:20] = [255, 0, 255]
rgb[20:26, 25:31] = [0, 0, 0]
src = Image.fromarray(rgb, "RGB")
save("src_rgb.png", src)
src_l = src.convert("L")
cases.append(dict(op="convert_L", input="src_rgb.png", output=save("src_l.png", src_l)))

# Lanczos (diffusers: resize((w, h), LANCZOS, reducing_gap=None))
for (w, h) in [(16, 12), (53, 41), (20, 40), (37, 13), (128, 8), (5, 3)]:
    for mode, im in [("L", src_l), ("RGB", src)]:
        r = im.resize((w, h), resample=Image.LANCZOS, reducing_gap=None)
        cases.append(dict(op="lanczos", input="src_l.png" if mode == "L" else "src_rgb.png", width=w, height=h,
                          output=save(f"lanczos_{mode}_{w}x{h}.png", r)))
# Lanczos with a box, as _resize_and_fill uses it (zero-height / zero-width edge boxes)
for mode, im in [("L", src_l), ("RGB", src)]:
    for name, size, box in [("top", (37, 5), (0, 0, 37, 0)), ("bottom", (37, 5), (0, 29, 37, 29)),
                            ("left", (4, 29), (0, 0, 0, 29)), ("right", (4, 29), (37, 0, 37, 29)),
                            ("inner", (30, 20), (2.5, 1.25, 30.75, 27))]:
        r = im.resize(size, resample=Image.LANCZOS, box=box)
        cases.append(dict(op="lanczos_box", input="src_l.png" if mode == "L" else "src_rgb.png",
                          width=size[0], height=size[1], box=list(box), output=save(f"lanczosbox_{mode}_{name}.png", r)))

# The same boxes with PIL's default resize filter (BICUBIC), which _resize_and_fill's bands use
for mode, im in [("L", src_l), ("RGB", src)]:
    for name, size, box in [("top", (37, 5), (0, 0, 37, 0)), ("right", (4, 29), (37, 0, 37, 29)),
                            ("inner", (30, 20), (2.5, 1.25, 30.75, 27)), ("down", (11, 9), (0, 0, 37, 29))]:
        r = im.resize(size, resample=Image.BICUBIC, box=box)
        cases.append(dict(op="bicubic_box", input="src_l.png" if mode == "L" else "src_rgb.png",
                          width=size[0], height=size[1], box=list(box), output=save(f"bicubicbox_{mode}_{name}.png", r)))

# GaussianBlur (diffusers VaeImageProcessor.blur = image.filter(GaussianBlur(blur_factor)))
mask = np.zeros((H, W), np.uint8)
mask[6:18, 9:27] = 255
mask[22:27, 3:8] = 255
mask_im = Image.fromarray(mask, "L")
save("mask_l.png", mask_im)
for r in [0.5, 1, 2.5, 4, 7, 20]:
    for inp, im in [("mask_l.png", mask_im), ("src_l.png", src_l), ("src_rgb.png", src)]:
        b = im.filter(ImageFilter.GaussianBlur(r))
        cases.append(dict(op="gaussian_blur", input=inp, radius=r, output=save(f"blur_{inp[:-4]}_{r}.png", b)))
b = src_l.filter(ImageFilter.GaussianBlur((3, 0)))
cases.append(dict(op="gaussian_blur_xy", input="src_l.png", radius=[3, 0], output=save("blur_src_l_3x0.png", b)))
b = src_l.filter(ImageFilter.GaussianBlur((0, 1.5)))
cases.append(dict(op="gaussian_blur_xy", input="src_l.png", radius=[0, 1.5], output=save("blur_src_l_0x1.5.png", b)))

# cv2.dilate with even/odd kernels on a grey image (the fixture set covers odd k on 0/255 masks)
grey = rng.integers(0, 256, size=(H, W)).astype(np.uint8)
grey[rng.random((H, W)) < 0.7] = 0
save("grey.png", Image.fromarray(grey, "L"))
for k in [2, 3, 4, 6]:
    for it in [1, 2, 3]:
        d = cv2.dilate(grey, np.ones((k, k), np.uint8), iterations=it)
        cases.append(dict(op="dilate", input="grey.png", kernel=k, iterations=it,
                          output=save(f"dilate_grey_k{k}_it{it}.png", Image.fromarray(d, "L"))))

# Mode conversions on reading: palette (with transparency), LA, RGBA, 1-bit
pal = src.quantize(colors=16)
pal.info["transparency"] = 3
pal.save(os.path.join(out, "palette.png"), transparency=3)
cases.append(dict(op="open_convert_RGB", input="palette.png", output=save("palette_rgb.png", Image.open(os.path.join(out, "palette.png")).convert("RGB"))))
cases.append(dict(op="open_convert_L", input="palette.png", output=save("palette_l.png", Image.open(os.path.join(out, "palette.png")).convert("L"))))
alpha = rng.integers(0, 256, size=(H, W)).astype(np.uint8)
rgba = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
save("rgba.png", rgba)
cases.append(dict(op="open_convert_RGB", input="rgba.png", output=save("rgba_rgb.png", Image.open(os.path.join(out, "rgba.png")).convert("RGB"))))
cases.append(dict(op="open_convert_L", input="rgba.png", output=save("rgba_l.png", Image.open(os.path.join(out, "rgba.png")).convert("L"))))
la = Image.fromarray(np.dstack([np.array(src_l), alpha]), "LA")
save("la.png", la)
cases.append(dict(op="open_convert_RGB", input="la.png", output=save("la_rgb.png", Image.open(os.path.join(out, "la.png")).convert("RGB"))))
cases.append(dict(op="open_convert_L", input="la.png", output=save("la_l.png", Image.open(os.path.join(out, "la.png")).convert("L"))))
one = mask_im.convert("1")
save("bilevel.png", one)
cases.append(dict(op="open_convert_L", input="bilevel.png", output=save("bilevel_l.png", Image.open(os.path.join(out, "bilevel.png")).convert("L"))))

# 16-bit RGB and RGBA PNGs (written by OpenCV): PIL opens them as RGB/RGBA keeping the high byte
rgb16 = rng.integers(0, 65536, size=(H, W, 3)).astype(np.uint16)
cv2.imwrite(os.path.join(out, "rgb16.png"), rgb16[..., ::-1])
cases.append(dict(op="open_convert_RGB", input="rgb16.png", output=save("rgb16_rgb.png", Image.open(os.path.join(out, "rgb16.png")).convert("RGB"))))
rgba16 = rng.integers(0, 65536, size=(H, W, 4)).astype(np.uint16)
cv2.imwrite(os.path.join(out, "rgba16.png"), rgba16[..., [2, 1, 0, 3]])
cases.append(dict(op="open_convert_RGB", input="rgba16.png", output=save("rgba16_rgb.png", Image.open(os.path.join(out, "rgba16.png")).convert("RGB"))))

# JPEG decoding: PIL's libjpeg-turbo decode of JPEGs PIL wrote (4:2:0 colour, and greyscale)
src.save(os.path.join(out, "src_q90.jpg"), quality=90)
cases.append(dict(op="open_convert_RGB", input="src_q90.jpg", output=save("src_q90_decoded.png", Image.open(os.path.join(out, "src_q90.jpg")).convert("RGB"))))
src.save(os.path.join(out, "src_q95_444.jpg"), quality=95, subsampling=0)
cases.append(dict(op="open_convert_RGB", input="src_q95_444.jpg", output=save("src_q95_444_decoded.png", Image.open(os.path.join(out, "src_q95_444.jpg")).convert("RGB"))))
src_l.save(os.path.join(out, "src_l_q90.jpg"), quality=90)
cases.append(dict(op="open_convert_L", input="src_l_q90.jpg", output=save("src_l_q90_decoded.png", Image.open(os.path.join(out, "src_l_q90.jpg")).convert("L"))))

# Mask processor path for an RGB mask: resize per channel in RGB, then convert("L")
rgb_mask = Image.fromarray(np.dstack([mask, np.array(src_l), 255 - mask]), "RGB")
save("mask_rgb.png", rgb_mask)
r = rgb_mask.resize((24, 16), resample=Image.LANCZOS, reducing_gap=None).convert("L")
cases.append(dict(op="mask_resize_then_L", input="mask_rgb.png", width=24, height=16, output=save("mask_rgb_24x16_l.png", r)))

# VaeImageProcessor._resize_and_fill / _resize_and_crop (diffusers 58eb52c), transcribed onto PIL.
# Note the band resizes pass no resample argument: PIL's default for resize is BICUBIC.
def resize_and_fill(image, width, height):
    ratio = width / height
    src_ratio = image.width / image.height
    src_w = width if ratio < src_ratio else image.width * height // image.height
    src_h = height if ratio >= src_ratio else image.height * width // image.width
    resized = image.resize((src_w, src_h), resample=Image.LANCZOS)
    res = Image.new("RGB", (width, height))
    res.paste(resized, box=(width // 2 - src_w // 2, height // 2 - src_h // 2))
    if ratio < src_ratio:
        fill_height = height // 2 - src_h // 2
        if fill_height > 0:
            res.paste(resized.resize((width, fill_height), box=(0, 0, width, 0)), box=(0, 0))
            res.paste(resized.resize((width, fill_height), box=(0, resized.height, width, resized.height)),
                      box=(0, fill_height + src_h))
    elif ratio > src_ratio:
        fill_width = width // 2 - src_w // 2
        if fill_width > 0:
            res.paste(resized.resize((fill_width, height), box=(0, 0, 0, height)), box=(0, 0))
            res.paste(resized.resize((fill_width, height), box=(resized.width, 0, resized.width, height)),
                      box=(fill_width + src_w, 0))
    return res

def resize_and_crop(image, width, height):
    ratio = width / height
    src_ratio = image.width / image.height
    src_w = width if ratio > src_ratio else image.width * height // image.height
    src_h = height if ratio <= src_ratio else image.height * width // image.width
    resized = image.resize((src_w, src_h), resample=Image.LANCZOS)
    res = Image.new("RGB", (width, height))
    res.paste(resized, box=(width // 2 - src_w // 2, height // 2 - src_h // 2))
    return res

for (w, h) in [(64, 32), (32, 64), (41, 29), (24, 21)]:
    cases.append(dict(op="resize_fill", input="src_rgb.png", width=w, height=h,
                      output=save(f"fill_{w}x{h}.png", resize_and_fill(src, w, h))))
    cases.append(dict(op="resize_crop", input="src_rgb.png", width=w, height=h,
                      output=save(f"crop_{w}x{h}.png", resize_and_crop(src, w, h))))

# VaeImageProcessor.apply_overlay (diffusers 58eb52c), transcribed onto PIL. resize() there is
# the "default"/"crop" VaeImageProcessor.resize, i.e. Lanczos / resize_and_crop.
from PIL import ImageOps
def vae_resize(im, width, height):
    return im.resize((width, height), resample=Image.LANCZOS)

def apply_overlay(mask, init_image, image, crop_coords=None):
    width, height = image.width, image.height
    init_image = vae_resize(init_image, width, height)
    mask = vae_resize(mask, width, height)
    init_image_masked = Image.new("RGBa", (width, height))
    init_image_masked.paste(init_image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask.convert("L")))
    init_image_masked = init_image_masked.convert("RGBA")
    if crop_coords is not None:
        x, y, x2, y2 = crop_coords
        w = x2 - x
        h = y2 - y
        base_image = Image.new("RGBA", (width, height))
        image = resize_and_crop(image, w, h)
        base_image.paste(image, (x, y))
        image = base_image.convert("RGB")
    image = image.convert("RGBA")
    image.alpha_composite(init_image_masked)
    image = image.convert("RGB")
    return image

soft_mask = mask_im.filter(ImageFilter.GaussianBlur(3))
save("soft_mask.png", soft_mask)
gen = Image.fromarray(rng.integers(0, 256, size=(H, W, 3)).astype(np.uint8), "RGB")
save("generated.png", gen)
cases.append(dict(op="apply_overlay", input="src_rgb.png", mask="soft_mask.png", image="generated.png",
                  output=save("overlay_nocrop.png", apply_overlay(soft_mask, src, gen))))
cases.append(dict(op="apply_overlay", input="src_rgb.png", mask="mask_l.png", image="generated.png",
                  output=save("overlay_hardmask.png", apply_overlay(mask_im, src, gen))))
gen_small = Image.fromarray(rng.integers(0, 256, size=(16, 24, 3)).astype(np.uint8), "RGB")
save("generated_24x16.png", gen_small)
cases.append(dict(op="apply_overlay", input="src_rgb.png", mask="soft_mask.png", image="generated_24x16.png",
                  crop=[4, 3, 34, 23], output=save("overlay_crop.png", apply_overlay(soft_mask, src, gen_small, (4, 3, 34, 23)))))
big = Image.fromarray(rng.integers(0, 256, size=(29, 37, 3)).astype(np.uint8), "RGB")
save("generated_37x29.png", big)
cases.append(dict(op="apply_overlay", input="src_rgb.png", mask="soft_mask.png", image="generated_37x29.png",
                  crop=[6, 2, 30, 18], output=save("overlay_crop_same.png", apply_overlay(soft_mask, src, big, (6, 2, 30, 18)))))

# numpy float32 arithmetic of VaeImageProcessor: pil_to_numpy + normalize for every 8-bit value,
# and denormalize + numpy_to_pil ((x/2 + 0.5).clamp(0, 1) * 255).round().astype(uint8) for
# random values plus values whose f32 product with 255 lands exactly on k + 0.5.
v = np.arange(256).astype(np.float32) / 255.0
normalized = (2.0 * v - 1.0).astype(np.float32)
xs = list(rng.uniform(-1.1, 1.1, size=2000).astype(np.float32))
for k in range(0, 255):
    t = np.float32((k + 0.5) / 255.0)
    for cand in [np.nextafter(t, np.float32(-2)), t, np.nextafter(t, np.float32(2))]:
        if np.float32(cand * np.float32(255)) == np.float32(k + 0.5):
            xs.append(np.float32(cand * 2 - 1) if np.float32(np.float32(cand * 2 - 1) / 2 + 0.5) == cand else None)
xs = [x for x in xs if x is not None]
xs = np.array(xs, np.float32)
den = np.clip(xs / 2 + 0.5, 0, 1).astype(np.float32)
u8 = (den * 255).round().astype("uint8")
halfway = int(np.sum(np.float32(den * 255) % 1 == 0.5))
numerics = dict(normalize_bits=[int(b) for b in normalized.view(np.uint32)],
                decoded_bits=[int(b) for b in xs.view(np.uint32)], decoded_u8=[int(b) for b in u8],
                halfway_cases=halfway)

json.dump(dict(pillow=PIL.__version__, opencv=cv2.__version__, numpy=np.__version__, numerics=numerics, cases=cases), open(os.path.join(out, "index.json"), "w"), indent=1)
print(len(cases), "cases,", halfway, "exact halfway products")
