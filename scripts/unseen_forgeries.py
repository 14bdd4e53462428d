"""Forgery methods of the unseen-forgery proxy check (scripts/unseen_check.py), written apart
from src/synth with OpenCV/numpy: each takes a float RGB crop aligned on crossdf's 5-point
template, its landmark frame and an RNG (and a donor for the swaps and the morph)."""
import cv2
import numpy as np

cv2.setNumThreads(1)

SIZE = 224  # side of the crops; unseen_check sets it from the synth images
MARGIN = 1.3  # src/face/align.rs DEFAULT_MARGIN
# ArcFace's five points in a 112x112 crop (src/face/align.rs ARCFACE_112).
ARCFACE_112 = np.array([(38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366),
                        (41.5493, 92.3655), (70.7299, 92.2041)], np.float64)
METHODS = ["poisson_swap", "lab_swap", "neural_texture", "reenact", "lowres_gan", "morph",
           "color_mismatch", "noise_mismatch", "jpeg_splice"]
DONOR_METHODS = {"poisson_swap", "lab_swap", "morph"}

def template(size=None, margin=MARGIN):
    """The template of src/face/align.rs: ArcFace points scaled to `size`, shrunk by margin."""
    size = size or SIZE
    s, c = size / 112.0, size / 2.0
    return c + (ARCFACE_112 * s - c) / margin


# ---------------------------------------------------------------- geometry and masks

class Frame:
    """Face frame from 5 landmarks: origin at the eye midpoint, u along the eyes in inter-ocular
    distances, v down the face in eye-to-mouth distances."""

    def __init__(self, lm):
        self.lm = np.asarray(lm, np.float64)
        le, re, _, lmo, rmo = self.lm
        self.eye = (le + re) / 2
        self.mouth = (lmo + rmo) / 2
        self.ux = re - le  # one iod along the eyes
        self.iod = float(np.linalg.norm(self.ux))
        self.vy = self.mouth - self.eye  # one eye-mouth distance down
        self.emd = float(np.linalg.norm(self.vy))

    def pt(self, u, v):
        return self.eye + u * self.ux + v * self.vy

    def pts(self, uv):
        return np.array([self.pt(u, v) for u, v in uv], np.float64)


# Inner face outline (brows, temples, cheeks, jaw, chin) in Frame units; a mean-face guess.
INNER_FACE = [(-0.95, -0.55), (-0.5, -0.72), (0.0, -0.7), (0.5, -0.72), (0.95, -0.55),
              (1.05, 0.1), (0.98, 0.7), (0.78, 1.2), (0.4, 1.55), (0.0, 1.62), (-0.4, 1.55),
              (-0.78, 1.2), (-0.98, 0.7), (-1.05, 0.1)]


def poly_mask(points, shape=None):
    m = np.zeros(shape or (SIZE, SIZE), np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(m, hull, 255)
    return m


def inner_mask(frame, scale=1.0, jitter=None):
    uv = np.array(INNER_FACE) * scale
    if jitter is not None:
        uv = uv + jitter
    return poly_mask(frame.pts(uv))


def soft(mask, sigma, erode=0):
    m = mask
    if erode > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1))
        m = cv2.erode(m, k)
    a = m.astype(np.float32) / 255.0
    if sigma > 0:
        a = cv2.GaussianBlur(a, (0, 0), sigma)
    return a[..., None]


def blend(fg, bg, alpha):
    return fg * alpha + bg * (1.0 - alpha)


def align_to(img, src_lm, dst_lm):
    """Similarity warp of img so that src_lm land on dst_lm (what swap pipelines do)."""
    m, _ = cv2.estimateAffinePartial2D(np.float32(src_lm), np.float32(dst_lm))
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def rbf_warp(img, controls, sigma):
    """Backward-mapped smooth warp: each control (x, y, dx, dy) pushes content by (dx, dy) with a
    Gaussian fall-off of `sigma` pixels. Fixed-point iteration inverts the forward field."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def field(x, y):
        fx = np.zeros_like(x)
        fy = np.zeros_like(y)
        for cx, cy, dx, dy in controls:
            g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma ** 2))
            fx += dx * g
            fy += dy * g
        return fx, fy

    sx, sy = xx.copy(), yy.copy()
    for _ in range(5):  # solve s + f(s) = p for the source point s of each output pixel p
        fx, fy = field(sx, sy)
        sx, sy = xx - fx, yy - fy
    return cv2.remap(img, sx, sy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def piecewise_affine(img, src_pts, dst_pts):
    """Warps img so that src_pts move to dst_pts, triangle by triangle (Delaunay on dst)."""
    h, w = img.shape[:2]
    border = np.array([(0, 0), (w / 2, 0), (w - 1, 0), (w - 1, h / 2), (w - 1, h - 1),
                       (w / 2, h - 1), (0, h - 1), (0, h / 2)], np.float64)
    src = np.vstack([src_pts, border])
    dst = np.vstack([dst_pts, border])
    sub = cv2.Subdiv2D((0, 0, w + 1, h + 1))
    for p in dst:
        sub.insert((float(min(max(p[0], 0), w - 1)), float(min(max(p[1], 0), h - 1))))
    out = np.zeros_like(img)
    covered = np.zeros((h, w), np.uint8)

    def index(p):
        d = np.linalg.norm(dst - p, axis=1)
        i = int(np.argmin(d))
        return i if d[i] < 1.0 else None

    for t in sub.getTriangleList():
        tri = t.reshape(3, 2)
        ids = [index(p) for p in tri]
        if any(i is None for i in ids):
            continue
        m = cv2.getAffineTransform(np.float32(src[ids]), np.float32(dst[ids]))
        warped = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT)
        tm = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(tm, np.round(dst[ids]).astype(np.int32), 1)
        tm &= (covered == 0).astype(np.uint8)
        out[tm > 0] = warped[tm > 0]
        covered |= tm
    out[covered == 0] = img[covered == 0]
    return out


def match_stats(src, ref, mask):
    """Per-channel mean/std of src inside mask set to ref's (Reinhard et al. 2001)."""
    m = mask[..., 0] > 0.5
    out = src.copy()
    for c in range(src.shape[2]):
        s, r = src[..., c][m], ref[..., c][m]
        out[..., c] = (src[..., c] - s.mean()) / (s.std() + 1e-6) * r.std() + r.mean()
    return out


# ---------------------------------------------------------------- the forgery methods
# Every method takes float32 RGB 0..255 images and returns the same.

def m_poisson_swap(img, frame, rng, donor, donor_frame):
    d = align_to(donor, donor_frame.lm, frame.lm)
    jit = rng.uniform(-0.04, 0.04, (len(INNER_FACE), 2))
    mask = inner_mask(frame, rng.uniform(0.82, 0.95), jit)
    mask[:2, :] = mask[-2:, :] = 0
    mask[:, :2] = mask[:, -2:] = 0
    x, y, w, h = cv2.boundingRect(mask)
    center = (x + w // 2, y + h // 2)
    mode = cv2.NORMAL_CLONE if rng.random() < 0.7 else cv2.MIXED_CLONE
    out = cv2.seamlessClone(np.clip(d, 0, 255).astype(np.uint8),
                            np.clip(img, 0, 255).astype(np.uint8), mask, center, mode)
    return out.astype(np.float32)


def m_lab_swap(img, frame, rng, donor, donor_frame):
    d = align_to(donor, donor_frame.lm, frame.lm)
    c = frame.pt(0.0, 0.6) + rng.normal(0, 0.02 * frame.iod, 2)
    axes = (frame.iod * rng.uniform(0.85, 1.0), frame.emd * rng.uniform(1.05, 1.2))
    ang = np.degrees(np.arctan2(frame.ux[1], frame.ux[0]))
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(mask, (int(round(c[0])), int(round(c[1]))),
                (int(round(axes[0])), int(round(axes[1]))), ang, 0, 360, 255, -1)
    lab_d = cv2.cvtColor(np.clip(d, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_t = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    hard = soft(mask, 0)
    lab = np.clip(match_stats(lab_d, lab_t, hard), 0, 255).astype(np.uint8)
    face = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB).astype(np.float32)
    # faceswap's "sharpen" post-process: unsharp mask of the generated face.
    blur = cv2.GaussianBlur(face, (0, 0), rng.uniform(1.0, 1.6))
    face = face + rng.uniform(0.4, 0.8) * (face - blur)
    alpha = soft(mask, rng.uniform(3.0, 6.0), erode=int(0.08 * frame.iod))
    return blend(face, img, alpha)


def m_neural_texture(img, frame, rng, donor=None, donor_frame=None):
    u8 = np.clip(img, 0, 255).astype(np.uint8)
    h = rng.uniform(8, 14)
    den = cv2.fastNlMeansDenoisingColored(u8, None, h, h, 5, 15).astype(np.float32)
    # the renderer's mouth is slightly off: open/stretch it a little
    lm = frame.lm
    s = 0.25 * frame.iod
    controls = [(lm[3][0], lm[3][1], -rng.uniform(0.5, 2.5), rng.uniform(-2, 2)),
                (lm[4][0], lm[4][1], rng.uniform(0.5, 2.5), rng.uniform(-2, 2)),
                (*frame.pt(0, 1.25), 0.0, rng.uniform(1.5, 4.0))]
    den = rbf_warp(den, controls, s)
    c = frame.pt(0, 1.02)
    mask = np.zeros(img.shape[:2], np.uint8)
    ang = np.degrees(np.arctan2(frame.ux[1], frame.ux[0]))
    cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(frame.iod * rng.uniform(0.55, 0.7)),
                int(frame.emd * rng.uniform(0.42, 0.55))), ang, 0, 360, 255, -1)
    return blend(den, img, soft(mask, rng.uniform(2.0, 4.0)))


def m_reenact(img, frame, rng, donor=None, donor_frame=None):
    lm = frame.lm
    iod = frame.iod
    smile = rng.uniform(0.04, 0.09) * iod
    openj = rng.uniform(0.05, 0.12) * iod
    brow = rng.uniform(0.04, 0.09) * iod * (1 if rng.random() < 0.6 else -1)
    up = -frame.vy / frame.emd  # unit vector up the face
    side = frame.ux / iod
    controls = []
    for i, sgn in ((3, -1), (4, 1)):
        d = smile * (0.6 * sgn * side + up)
        controls.append((lm[i][0], lm[i][1], d[0], d[1]))
    for p in (frame.pt(0, 1.2), frame.pt(0, 1.55)):
        d = -up * openj
        controls.append((p[0], p[1], d[0], d[1]))
    for u in (-0.55, -0.3, 0.3, 0.55):
        p = frame.pt(u, -0.45)
        d = up * brow * (1.0 if abs(u) > 0.4 else 0.7)
        controls.append((p[0], p[1], d[0], d[1]))
    warped = rbf_warp(img, controls, 0.22 * iod)
    # the re-rendered face replaces the frame's face only inside the face region
    return blend(warped, img, soft(inner_mask(frame, 1.0), 4.0))


def m_lowres_gan(img, frame, rng, donor=None, donor_frame=None):
    h, w = img.shape[:2]
    small = cv2.resize(img, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    k = np.array([1, 2, 1], np.float32)
    k = np.outer(k, k) / 16.0
    x = small
    for stage in range(2):  # resize-convolution: nearest x2, 3x3 conv, noise injection
        x = cv2.resize(x, (x.shape[1] * 2, x.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
        x = cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REFLECT)
        n = rng.normal(0, rng.uniform(1.5, 3.5), x.shape[:2]).astype(np.float32)
        n = cv2.GaussianBlur(n, (0, 0), 0.6)
        x = x + n[..., None]
    if x.shape[:2] != (h, w):
        x = cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR)
    mask = inner_mask(frame, rng.uniform(0.9, 1.0))
    x = match_stats(x, img, soft(mask, 0))
    return blend(x, img, soft(mask, rng.uniform(3.0, 6.0), erode=int(0.05 * frame.iod)))


def m_morph(img, frame, rng, donor, donor_frame):
    d = align_to(donor, donor_frame.lm, frame.lm)
    # after similarity alignment, the donor's points sit near but not on the target's
    m, _ = cv2.estimateAffinePartial2D(np.float32(donor_frame.lm), np.float32(frame.lm))
    dl = (np.hstack([donor_frame.lm, np.ones((5, 1))]) @ m.T)
    # outline points help the piecewise warp keep the face shape
    extra = [(-0.95, -0.6), (0.95, -0.6), (-1.0, 0.8), (1.0, 0.8), (0, 1.6)]
    tp = np.vstack([frame.lm, frame.pts(extra)])
    df = Frame(dl)
    dp = np.vstack([dl, df.pts(extra)])
    a = rng.uniform(0.4, 0.6)
    mean = (1 - a) * tp + a * dp
    t2 = piecewise_affine(img, tp, mean)
    d2 = piecewise_affine(d, dp, mean)
    return (1 - a) * t2 + a * d2


def m_color_mismatch(img, frame, rng, donor=None, donor_frame=None):
    gain = rng.choice([-1, 1]) * rng.uniform(0.05, 0.12) + 1.0
    gamma = rng.uniform(0.88, 1.12)
    tint = rng.normal(0, 4.0, 3).astype(np.float32)
    face = 255.0 * (np.clip(img, 0, 255) / 255.0) ** gamma * gain + tint
    mask = inner_mask(frame, rng.uniform(0.85, 1.0), rng.uniform(-0.04, 0.04, (len(INNER_FACE), 2)))
    return blend(face, img, soft(mask, rng.uniform(0.7, 1.5)))


def m_noise_mismatch(img, frame, rng, donor=None, donor_frame=None):
    u8 = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        h = rng.uniform(7, 12)
        den = cv2.fastNlMeansDenoisingColored(u8, None, h, h, 7, 21)
    else:
        den = cv2.bilateralFilter(u8, 9, rng.uniform(25, 45), 5)
    mask = inner_mask(frame, rng.uniform(0.85, 1.0))
    return blend(den.astype(np.float32), img, soft(mask, rng.uniform(2.0, 4.0)))


def m_jpeg_splice(img, frame, rng, donor=None, donor_frame=None):
    dx, dy = rng.integers(1, 8, 2)
    u8 = np.clip(img, 0, 255).astype(np.uint8)
    shifted = np.pad(u8, ((dy, 8), (dx, 8), (0, 0)), mode="reflect")
    q = int(rng.integers(20, 41))
    ok, enc = cv2.imencode(".jpg", shifted, [cv2.IMWRITE_JPEG_QUALITY, q])
    dec = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    if dec.ndim == 2:
        dec = dec[..., None]
    dec = dec[dy:dy + img.shape[0], dx:dx + img.shape[1]].astype(np.float32)
    mask = inner_mask(frame, rng.uniform(0.85, 1.0))
    return blend(dec, img, soft(mask, rng.uniform(1.5, 3.0)))


FORGE = {name: globals()["m_" + name] for name in METHODS}
