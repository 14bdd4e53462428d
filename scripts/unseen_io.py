"""Helpers shared by unseen_check.py and unseen_clips.py: paths, image I/O, JSON Lines, seeds,
and the forgery/donor choice applied to one face."""
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import unseen_forgeries as uf


ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BIN = ROOT / "target" / "release" / "crossdf"


# ---------------------------------------------------------------- I/O helpers

def luma(rgb):
    """ITU-R BT.601 luma of float RGB, rounded to uint8."""
    rgb = np.asarray(rgb, np.float32)
    if rgb.ndim == 2:
        y = rgb
    else:
        y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return np.clip(np.round(y), 0, 255).astype(np.uint8)


def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float32)


def save_gray(path, rgb):
    Image.fromarray(luma(rgb), "L").save(path, optimize=False, compress_level=3)


def seed_of(*parts):
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "little")


def safe(s):
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s)[:60]


def read_jsonl(p):
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(p, rows):
    with open(p, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def forge(method, img, frame, rng, donor_img, donor_frame):
    return uf.FORGE[method](img, frame, rng, donor_img, donor_frame)


def face_code(img, frame):
    """Inner-face luma at 24x24, zero mean, unit norm: a crude appearance/pose descriptor."""
    x0, y0 = frame.pt(-0.95, -0.6)
    x1, y1 = frame.pt(0.95, 1.55)
    patch = luma(img)[int(y0):int(y1), int(x0):int(x1)].astype(np.float32)
    v = cv2.resize(patch, (24, 24), interpolation=cv2.INTER_AREA).ravel()
    v -= v.mean()
    return v / (np.linalg.norm(v) + 1e-6)


def pick_donor(ident, ids, rng, cache):
    """Another identity whose inner face looks most alike (pose, shading), one of the 3 closest:
    swap pipelines pair similar faces, and it keeps non-faces and occluded faces out."""
    others = [i for i in ids if i != ident]
    sim = np.array([float(cache[i][2] @ cache[ident][2]) for i in others])
    order = np.argsort(-sim)
    cand = [others[j] for j in order[:3]]
    return cand[int(rng.integers(len(cand)))]
