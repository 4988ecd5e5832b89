"""Your own images (data.dataset: folder): every PNG, JPEG and WebP file under data.path, searched
recursively (hidden files and folders skipped), in the order of their paths. Each image is turned
upright by its EXIF orientation, converted to gray (data.channels 1) or RGB (3), resized with Pillow's
Lanczos filter so that its shorter side is data.image_size, and center-cropped to a square. The
result is the same uint8 NCHW array as the built-in datasets, one `train` split without labels.

Bad input is one line naming data.path: a missing folder, a folder without images, a link to a folder
inside it (DVC would not see edits there), a file that cannot be decoded, fewer images than needed.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gansweep.registry import ConfigError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
# EXIF orientation -> the transpose that makes the image upright: ImageOps.exif_transpose's table, applied without
# re-writing the EXIF (which fails on a mistyped tag of an image that decodes fine)
UPRIGHT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


def image_files(folder: Path, needed: int = 1) -> list[Path]:
    """The image files under `folder`, sorted by their path relative to it: at least `needed`, else one line on what is wrong."""
    if not folder.exists():
        raise ConfigError(f"data.path: {folder} does not exist (a folder of PNG, JPEG or WebP images)")
    if not folder.is_dir():
        raise ConfigError(f"data.path: {folder} is a file, not a folder of images")
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if linked := [d for d in dirs if (Path(root) / d).is_symlink()]:  # DVC hashes data.path without following them
            raise ConfigError(f"data.path: {Path(root) / linked[0]} is a link to a folder, which DVC does not follow (an edit "
                              f"there would not re-run prepare): move or copy its images under {folder}")
        found += [Path(root) / f for f in files if not f.startswith(".") and f.lower().endswith(EXTENSIONS)]
    if not found:
        raise ConfigError(f"data.path: {folder} holds no PNG, JPEG or WebP images (searched recursively)")
    if len(found) < needed:
        raise ConfigError(f"data.path: {folder} holds {len(found)} images, fewer than the {needed} that metrics.reference_images "
                          "and train.eval_reference_images take from the train split (add images or lower those two)")
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def decode(path: Path, size: int, channels: int) -> np.ndarray:
    """One image file -> uint8 (channels, size, size)."""
    from PIL import Image

    try:
        with Image.open(path) as opened:
            upright = UPRIGHT.get(opened.getexif().get(0x0112))  # 0x0112: Orientation
            image = opened.transpose(getattr(Image.Transpose, upright)) if upright else opened
            if image.mode.startswith("I"):  # a 16-bit PNG: Pillow's convert would clip it at 255, not scale it
                image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
            if "A" in image.mode or "transparency" in image.info:  # what lies under alpha 0 is the encoder's, not the picture's
                image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
            image = image.convert("L" if channels == 1 else "RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"data.path: {path} cannot be decoded as an image ({reason}); remove or replace it") from None
    width, height = image.size
    scale = size / min(width, height)
    image = image.resize((max(size, round(width * scale)), max(size, round(height * scale))), Image.Resampling.LANCZOS)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    pixels = np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def load_folder(folder: Path, size: int, channels: int) -> np.ndarray:
    """Every image under `folder`, decoded in parallel threads (Pillow releases the GIL)."""
    from tqdm import tqdm

    files = image_files(folder)
    images = np.empty((len(files), channels, size, size), dtype=np.uint8)
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        decoded = pool.map(lambda path: decode(path, size, channels), files)
        for i, pixels in enumerate(tqdm(decoded, total=len(files), desc=f"decoding {folder}", unit="img")):
            images[i] = pixels
    finally:
        pool.shutdown(cancel_futures=True)  # a bad file stops at once, not after decoding the rest
    return images
