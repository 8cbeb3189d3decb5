"""Writes N photo-like JPEGs (640x480 by default) for the classify benchmark: smooth gradients,
shapes and edges, textured regions and sensor-like noise, so that the entropy decoder has about
the work a real photo gives it (pure noise would be the worst case, flat colour the best).
Usage: make_images.py DIR [--count 1000] [--size 640x480] [--quality 90] [--seed 0]"""
import argparse
import os

import numpy as np
from PIL import Image, ImageDraw


def image(rng, w, h):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # a lit background: two gradients at random angles
    a, b = rng.uniform(0, 2 * np.pi, 2)
    base = np.stack([
        128 + 90 * np.cos(a + xx / w * rng.uniform(1, 4)) * np.sin(b + yy / h * rng.uniform(1, 4)),
        128 + 80 * np.sin(a + (xx + yy) / (w + h) * rng.uniform(1, 5)),
        128 + 70 * np.cos(b + yy / h * rng.uniform(1, 3)),
    ], -1)
    # a textured band (grass, fabric): sinusoids at fine scales
    band = (yy > h * rng.uniform(0.5, 0.8))
    texture = 25 * np.sin(xx * rng.uniform(0.3, 0.9)) * np.cos(yy * rng.uniform(0.3, 0.9))
    base[band] += texture[band, None]
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    # objects: filled shapes with hard edges
    d = ImageDraw.Draw(img)
    for _ in range(rng.integers(4, 12)):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(20, w // 2), y0 + rng.integers(20, h // 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            d.rectangle([x0, y0, x1, y1], fill=colour)
    # sensor noise
    px = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(px, 0, 255).astype(np.uint8), "RGB")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--size", default="640x480")
    p.add_argument("--quality", type=int, default=90)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    os.makedirs(args.dir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for i in range(args.count):
        image(rng, w, h).save(os.path.join(args.dir, "img%05d.jpg" % i), quality=args.quality)


if __name__ == "__main__":
    main()
