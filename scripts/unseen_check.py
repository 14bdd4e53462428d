#!/usr/bin/env python3
"""Unseen-forgery proxy check for crossdf detectors, written independently of src/synth.

The demo model is trained on online self_blend / identity_swap / gan_upsample fakes and tested
on face_warp / local_edit. Graders test on methods nobody here has seen and on real H.264
videos. This tool builds a stand-in for that with forgery code that shares nothing with the
Rust methods (OpenCV / numpy here, other mechanisms):

  poisson_swap     another test identity's inner face, Poisson (seamlessClone) blended
  lab_swap         DeepFakes-like: donor face, Reinhard colour transfer in LAB, elliptical
                   feathered mask, unsharp-mask sharpening of the pasted face
  neural_texture   NeuralTextures-like: mouth/lower face re-rendered as a non-local-means
                   denoised, slightly warped copy of itself
  reenact          Face2Face-like expression change: smooth RBF warp of mouth corners, jaw and
                   eyebrows, nothing but resampling
  lowres_gan       inner face rendered at 56 px and brought up by resize-convolution
                   (nearest x2 + 3x3 blur, twice) with StyleGAN-like noise injection
  morph            morphing attack: piecewise-affine warp of two identities to their mean
                   landmarks, then a 50/50 cross-dissolve of the whole crop
  color_mismatch   inner face gain / gamma / tint change behind a hard-ish boundary
  noise_mismatch   inner face denoised (GAN outputs are smoother than camera noise)
  jpeg_splice      face region JPEG-encoded on its own (q 20-40, shifted 8x8 grid), pasted back

Conditions (one manifest each in --out, all split "test"):
  control  the synth run's own test split (its reals + crossdf's fakes, e.g. self_blend, a method
           the demo trains on): separates "the method is unseen" from "the crops differ from the
           training crops" (size, resampling)
  clean    test reals + the forgeries above, PNG (manifest.jsonl)
  jpeg75   the same images, reals and fakes, re-encoded as JPEG quality 75
  video    8 test identities as 640x480 H.264 clips (crf 23, 32 frames, Ken Burns drift) of the
           crop pasted on a backdrop, real and forged, through `crossdf prepare --layout folder`.
           Caveat: the pasted square's edge (at the crop border) and the smeared neck below it
           are traces in the reals too; `footage` has none
  footage  the real registry videos in the crossdf cache (genuine footage): the 32 frames
           re-encoded as the real clip, and forged clips where each frame's largest face is
           aligned (MTCNN landmarks from `crossdf faces`), forged and pasted back into the frame,
           encoded the same way, then `crossdf prepare`. Caveats: some of these clips are sources
           of train/val identities of the synth split; the paste-back adds a warp/unwarp
           resampling inside the fakes' footprint (as real swap pipelines do, but a trace
           the held-out face_warp method also has)

The crop size is taken from the synth images: build from a 224 px run to test what `crossdf
prepare` gives by default; the demo's own data (DEMO_OUT/data) is 224 px too.

  unseen_check.py build --out DIR [--synth DIR] [--crossdf BIN] [--fakes-per-identity K] ...
  unseen_check.py eval  --out DIR --model RUN [--model RUN ...] [--crossdf BIN]
  unseen_check.py sheet --out DIR --png FILE
  unseen_check.py all   --out DIR --model RUN ...   (build, sheet, eval)
  unseen_check.py eval  ... --conditions footage,video   (a subset; results.json keeps the rest)

Run through scripts/unseen-check, which builds the venv (numpy, pillow, opencv, scipy).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
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


# ---------------------------------------------------------------- build

def ensure_synth(args):
    man = Path(args.synth) / "manifest.jsonl"
    if not man.exists():
        log(f"unseen-check: no {man}; running crossdf synth (fetches registry photos once)")
        subprocess.run([str(args.crossdf), "synth", "--out", str(args.synth), "--size",
                        str(args.size), "--methods", "self_blend", "--seed", "0"], check=True)
    return man


def test_reals(man):
    base = man.parent
    rows = [r for r in read_jsonl(man) if r.get("split") == "test" and int(r["label"]) == 0]
    if not rows:
        sys.exit(f"{man}: no test reals")
    by_id = {}
    for r in rows:
        by_id.setdefault(r["video"], []).append(base / r["path"])
    for v in by_id.values():
        v.sort()
    return by_id


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


def write_control(man, out):
    """The synth run's own test split (its reals and its crossdf-made fakes, e.g. self_blend, a
    method the demo trains on) as a control at the same crop size: it separates 'the method is
    unseen' from 'the crops differ from training' (size, resampling)."""
    rows = [dict(r, path=str((man.parent / r["path"]).resolve()))
            for r in read_jsonl(man) if r.get("split") == "test"]
    if any(int(r["label"]) == 1 for r in rows):
        write_jsonl(out / "manifest_control.jsonl", rows)


def build_images(args, by_id, out):
    tpl = uf.template()
    frame = uf.Frame(tpl)
    ids = sorted(by_id)
    first = {}
    for i in ids:
        im = load_rgb(by_id[i][0])
        if im.shape[:2] != (uf.SIZE, uf.SIZE):
            sys.exit(f"{by_id[i][0]}: {im.shape[1]}x{im.shape[0]}, want {uf.SIZE}x{uf.SIZE} "
                     f"(all crops of one synth run have one size)")
        first[i] = (im, float(luma(im).mean()), face_code(im, frame))
    img_dir = out / "images"
    for sub in ["real"] + uf.METHODS:
        (img_dir / sub).mkdir(parents=True, exist_ok=True)
    rows, diffs = [], {m: [] for m in uf.METHODS}
    t0 = time.time()
    for n, ident in enumerate(ids):
        sid = safe(ident)
        for k, src in enumerate(by_id[ident]):
            rel = f"images/real/{sid}_{k}.png"
            img = load_rgb(src)
            save_gray(out / rel, img)
            rows.append(dict(path=rel, label=0, domain="real", video=ident, split="test"))
        for method in uf.METHODS:
            srcs = by_id[ident]
            pick = np.unique(np.linspace(0, len(srcs) - 1, min(args.fakes_per_identity, len(srcs)))
                             .round().astype(int))
            for k in pick:  # evenly spread over the identity's photos / frames
                src = srcs[k]
                rng = np.random.default_rng(seed_of(args.seed, ident, k, method))
                img = load_rgb(src)
                donor, dframe = None, None
                if method in uf.DONOR_METHODS:
                    did = pick_donor(ident, ids, rng, first)
                    donor, dframe = first[did][0], frame
                fake = forge(method, img, frame, rng, donor, dframe)
                rel = f"images/{method}/{sid}_{k}.png"
                save_gray(out / rel, fake)
                diffs[method].append(float(np.abs(luma(fake).astype(np.float32)
                                                  - luma(img).astype(np.float32)).mean()))
                rows.append(dict(path=rel, label=1, domain=method,
                                 video=f"{ident}@{method}", split="test"))
        if (n + 1) % 10 == 0 or n + 1 == len(ids):
            log(f"  images: {n + 1}/{len(ids)} identities, {time.time() - t0:.0f}s")
    write_jsonl(out / "manifest.jsonl", rows)
    stats = {m: dict(n=len(v), mean_abs_luma_diff=float(np.mean(v)),
                     min_mean_abs_luma_diff=float(np.min(v))) for m, v in diffs.items()}
    return rows, stats


def build_jpeg(rows, out, quality=75):
    jrows = []
    for r in rows:
        rel = "jpeg75/" + r["path"][len("images/"):-4] + ".jpg"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.open(out / r["path"]).save(out / rel, "JPEG", quality=quality)
        jrows.append(dict(r, path=rel))
    write_jsonl(out / "manifest_jpeg75.jsonl", jrows)


def background(rng, w=640, h=480):
    """A plausible room-ish backdrop: low-frequency colour field, a wall/floor split, grain."""
    base = rng.uniform(60, 200, 3)
    low = rng.normal(0, 1, (6, 8, 3)).astype(np.float32)
    low = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC) * rng.uniform(10, 25)
    img = base[None, None, :] + low
    yy = np.arange(h)[:, None, None]
    split = rng.uniform(0.6, 0.8) * h
    img = img + np.where(yy > split, rng.uniform(-40, -15), 0.0)
    # a door/shelf-like vertical band
    x0 = int(rng.uniform(0.05, 0.3) * w)
    img[:, x0:x0 + int(rng.uniform(30, 70))] += rng.uniform(-30, 30)
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 2.0)
    return img


def compose(face, bg, static):
    """Face crop (224) pasted onto a 640x480 backdrop as a bust: a head oval joined to the crop's
    lower part, which is extended downwards (its bottom rows smeared) as neck and shoulders."""
    h, w = bg.shape[:2]
    s = static["scale"]
    V = face.shape[0]  # the crop goes in at 0.75-1x its own size: nothing upscaled
    ext = int(V * 0.9)
    tall = cv2.copyMakeBorder(face.astype(np.float32), 0, ext, 0, 0, cv2.BORDER_REPLICATE)
    smear = cv2.GaussianBlur(tall, (0, 0), 6.0)
    ramp = np.clip((np.arange(tall.shape[0]) - V + 8) / 40.0, 0, 1)[:, None, None]
    tall = uf.blend(smear, tall, ramp.astype(np.float32))
    th, tw = int(tall.shape[0] * s), int(V * s)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    big = cv2.resize(tall, (tw, th), interpolation=interp)
    # The whole crop square goes in: a seam inside it would sit inside the face crop that
    # prepare takes again (same alignment), and look like a blending boundary on the reals.
    e = max(2, tw // 60)
    mask = np.zeros((th, tw), np.uint8)
    cv2.rectangle(mask, (e, e), (tw - 1 - e, tw), 255, -1)
    cv2.rectangle(mask, (int(tw * 0.2), tw), (int(tw * 0.8), int(tw * 1.3)), 255, -1)
    cv2.ellipse(mask, (tw // 2, int(tw * 1.5)), (int(tw * 0.5), int(tw * 0.4)), 0, 0, 360, 255, -1)
    x0, y0 = static["x0"], static["y0"]
    canvas = bg.copy()
    y1 = min(h, y0 + th)
    a = uf.soft(mask, e / 1.5)[: y1 - y0]
    canvas[y0:y1, x0:x0 + tw] = uf.blend(big[: y1 - y0], canvas[y0:y1, x0:x0 + tw], a)
    return canvas


def has_face(crossdf, png):
    """Whether `crossdf faces` (MTCNN, the detector prepare uses) finds a face in the PNG."""
    r = subprocess.run([str(crossdf), "faces", "--json", str(png)], capture_output=True, text=True)
    if r.returncode != 0:
        return False
    return any(f.get("prob", 1.0) >= 0.9 for f in json.loads(r.stdout)["faces"])


def ken_burns(canvas, t, motion):
    """uf.Frame t in [0, 1]: slow zoom and drift about the face, a slight roll, sensor grain."""
    h, w = canvas.shape[:2]
    z = 1.0 + motion["zoom"] * t
    ang = motion["roll"] * np.sin(2 * np.pi * t)
    cx, cy = motion["cx"], motion["cy"]
    m = cv2.getRotationMatrix2D((cx, cy), ang, z)
    m[0, 2] += motion["dx"] * t + 1.5 * np.sin(7 * t)
    m[1, 2] += motion["dy"] * t + 1.0 * np.cos(5 * t)
    f = cv2.warpAffine(canvas, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return f


def clip_setup(args, ident):
    """Backdrop, placement and Ken Burns path of an identity's clips (seeded by identity)."""
    vr = np.random.default_rng(seed_of(args.seed, "video", ident))
    bg = background(vr)
    s = vr.uniform(0.75, 1.0)
    static = dict(scale=s, x0=int(vr.uniform(120, 640 - 120 - uf.SIZE * s)),
                  y0=int(vr.uniform(20, 480 - uf.SIZE * s * 1.15)), bg=bg)
    bw = uf.SIZE * s
    motion = dict(zoom=vr.uniform(0.05, 0.12), roll=vr.uniform(-2.0, 2.0),
                  cx=static["x0"] + bw / 2, cy=static["y0"] + bw / 2,
                  dx=vr.uniform(-25, 25), dy=vr.uniform(-12, 12))
    return static, motion


def prepare_clips(args, root, out, condition):
    """`crossdf prepare` of the clips under root (all test) into out/<condition>_faces; writes
    manifest_<condition>.jsonl with paths relative to out/, so all manifests live side by side."""
    prep = out / f"{condition}_faces"
    if prep.exists():
        shutil.rmtree(prep)
    subprocess.run(["nice", "-n", "10", str(args.crossdf), "prepare", "--layout", "folder",
                    "--root", str(root), "--out", str(prep), "--frames", str(args.frames),
                    "--size", str(uf.SIZE), "--val-frac", "0", "--test-frac", "1", "--jobs", "1"],
                   check=True)
    rows = [dict(r, path=os.path.relpath(prep / r["path"], out))
            for r in read_jsonl(prep / "manifest.jsonl")]
    write_jsonl(out / f"manifest_{condition}.jsonl", rows)
    return prep, rows


def build_videos(args, by_id, out, frame):
    root = out / "video_src"
    if root.exists():
        shutil.rmtree(root)
    ids = sorted(by_id)
    rng = np.random.default_rng(seed_of(args.seed, "videos"))
    order = [ids[i] for i in rng.permutation(len(ids))]
    first = {}
    for i in ids:
        im = load_rgb(by_id[i][0])
        first[i] = (im, float(luma(im).mean()), face_code(im, frame))
    tmp = out / "video_tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    chosen = []
    for ident in order:  # identities whose real clip MTCNN can find a face in
        if len(chosen) == args.videos:
            break
        static, _ = clip_setup(args, ident)
        png = tmp / "probe.png"
        Image.fromarray(luma(compose(first[ident][0], static["bg"], static)), "L").save(png)
        if has_face(args.crossdf, png):
            chosen.append(ident)
        else:
            log(f"  videos: no face found in {ident}'s clip; left out")
    chosen.sort()
    plan = []
    mi = 0
    for n, ident in enumerate(chosen):
        plan.append((ident, None))
        for _ in range(args.fakes_per_video_identity):
            plan.append((ident, uf.METHODS[mi % len(uf.METHODS)]))
            mi += 1
    for ident, method in plan:
        static, motion = clip_setup(args, ident)  # shared by the real and fake clips
        bg = static["bg"]
        img = first[ident][0]
        label = "real" if method is None else method
        if method is not None:
            fr = np.random.default_rng(seed_of(args.seed, "video", ident, method))
            donor = None
            if method in uf.DONOR_METHODS:
                donor = first[pick_donor(ident, ids, fr, first)][0]
            img = forge(method, img, frame, fr, donor, frame)
        canvas = compose(np.clip(img, 0, 255), bg, static)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        grain = np.random.default_rng(seed_of(args.seed, "grain", ident, label))
        for t in range(args.frames):
            f = ken_burns(canvas, t / max(1, args.frames - 1), motion)
            f = f + grain.normal(0, 1.5, f.shape[:2])[..., None]
            g = luma(f)  # the crops are grey; so are the clips (x264 keeps the chroma flat)
            Image.fromarray(g, "L").save(tmp / f"frame{t:03d}.png", compress_level=1)
        dest = root / ("real" if method is None else f"fake/{method}")
        dest.mkdir(parents=True, exist_ok=True)
        vid = dest / f"{safe(ident)}.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-framerate",
                        "25", "-i", str(tmp / "frame%03d.png"), "-c:v", "libx264", "-crf", "23",
                        "-pix_fmt", "yuv420p", str(vid)], check=True)
    if tmp.exists():
        shutil.rmtree(tmp)
    log(f"  videos: {len(plan)} clips; crossdf prepare --layout folder ...")
    prep, rows = prepare_clips(args, root, out, "video")
    skipped = prep / "skipped.jsonl"
    nskip = len(read_jsonl(skipped)) if skipped.exists() else 0
    return dict(clips=len(plan), faces=len(rows), skipped=nskip,
                plan=[dict(identity=i, method=m or "real") for i, m in plan])


def registry_videos():
    cache = Path(os.environ.get("CROSSDF_CACHE", Path.home() / ".cache" / "crossdf"))
    return sorted(p for p in (cache / "assets").rglob("*.mp4") if "no_face" not in p.name)


def even_frames(video, n, dest):
    """The n evenly spaced frames of `video` (as `crossdf prepare --frames n` picks them) as
    PNGs in dest; returns their paths."""
    meta = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=nb_read_packets", "-of", "json", str(video)],
        check=True, capture_output=True, text=True).stdout)
    total = int(meta["streams"][0]["nb_read_packets"])
    idx = sorted(set(np.linspace(0, total - 1, min(n, total)).round().astype(int).tolist()))
    dest.mkdir(parents=True, exist_ok=True)
    sel = "+".join(f"eq(n\\,{i})" for i in idx)
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(video),
                    "-vf", f"select={sel}", "-fps_mode", "passthrough",
                    str(dest / "f%03d.png")], check=True)
    return sorted(dest.glob("f*.png"))


def largest_face(crossdf, png):
    r = subprocess.run([str(crossdf), "faces", "--json", str(png)], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    faces = [f for f in json.loads(r.stdout)["faces"] if f.get("prob", 1.0) >= 0.9]
    if not faces:
        return None
    area = lambda f: (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1])  # noqa: E731
    return np.array(max(faces, key=area)["landmarks"], np.float64)


def encode(frames_dir, dest):
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-framerate", "25",
                    "-i", str(frames_dir / "f%03d.png"), "-c:v", "libx264", "-crf", "23",
                    "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                    str(dest)], check=True)


def paste_back(frame_img, crop_fake, m, method, cframe):
    """The forged aligned crop warped back into the frame through the face footprint, as swap
    pipelines do (m maps frame -> crop)."""
    h, w = frame_img.shape[:2]
    if method == "morph":
        foot = np.zeros((uf.SIZE, uf.SIZE), np.uint8)
        e = max(2, uf.SIZE // 28)
        foot[e:-e, e:-e] = 255
        sig = uf.SIZE / 40
    else:
        foot = uf.inner_mask(cframe, 1.15)
        sig = uf.SIZE / 80
    a = cv2.GaussianBlur(foot.astype(np.float32) / 255.0, (0, 0), sig)
    inv = cv2.invertAffineTransform(m)
    back = cv2.warpAffine(crop_fake, inv, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    ab = cv2.warpAffine(a, inv, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    return uf.blend(back, frame_img, ab)


def build_footage(args, by_id, out, cframe):
    """Real registry videos (genuine H.264 footage, the clips crossdf synth takes frames from):
    the same 32 frames re-encoded as the real clip, and forged clips where each frame's largest
    face (MTCNN landmarks) is aligned, forged and pasted back, then encoded the same way. Some
    of these clips are the sources of train/val identities of a synth run."""
    vids = registry_videos()
    if not vids:
        log("  footage: no registry videos in the crossdf cache; skipped")
        return None
    root, work = out / "footage_src", out / "footage_tmp"
    for d in (root, work):
        if d.exists():
            shutil.rmtree(d)
    ids = sorted(by_id)
    first = {i: load_rgb(by_id[i][0]) for i in ids}
    codes = {i: (None, 0.0, face_code(first[i], cframe)) for i in ids}
    tpl = np.float32(uf.template())
    plan, mi = [], seed_of(args.seed, "footage") % len(uf.METHODS)
    for v in vids:
        name = safe(v.stem)
        frames = even_frames(v, args.frames, work / name / "src")
        lms = [largest_face(args.crossdf, f) for f in frames]
        ok = [i for i, lm in enumerate(lms) if lm is not None]
        if len(ok) < len(frames) // 2:
            log(f"  footage: faces in only {len(ok)}/{len(frames)} frames of {v.name}; left out")
            continue
        for i in range(len(lms)):  # frames without a face borrow the nearest detection
            if lms[i] is None:
                lms[i] = lms[min(ok, key=lambda j: abs(j - i))]
        encode(work / name / "src", root / "real" / f"{name}.mp4")
        plan.append(dict(video=v.name, method="real"))
        for _ in range(args.fakes_per_video_identity):
            method = uf.METHODS[mi % len(uf.METHODS)]
            mi += 1
            rng0 = seed_of(args.seed, "footage", name, method)
            donor = None
            if method in uf.DONOR_METHODS:
                m0, _ = cv2.estimateAffinePartial2D(np.float32(lms[ok[0]]), tpl)
                crop0 = cv2.warpAffine(load_rgb(frames[ok[0]]), m0, (uf.SIZE, uf.SIZE),
                                       flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
                codes["__self__"] = (None, 0.0, face_code(crop0, cframe))
                pool = ids + ["__self__"]
                did = pick_donor("__self__", pool, np.random.default_rng(rng0), codes)
                donor = first[did]
            fdir = work / name / method
            fdir.mkdir(parents=True)
            for i, f in enumerate(frames):
                img = load_rgb(f)
                m, _ = cv2.estimateAffinePartial2D(np.float32(lms[i]), tpl)
                crop = cv2.warpAffine(img, m, (uf.SIZE, uf.SIZE), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REFLECT)
                fake = forge(method, crop, cframe, np.random.default_rng(rng0), donor, cframe)
                outf = paste_back(img, np.clip(fake, 0, 255).astype(np.float32), m, method, cframe)
                Image.fromarray(np.clip(np.round(outf), 0, 255).astype(np.uint8)).save(
                    fdir / f.name, compress_level=1)
            encode(fdir, root / "fake" / method / f"{name}.mp4")
            plan.append(dict(video=v.name, method=method))
    shutil.rmtree(work)
    log(f"  footage: {len(plan)} clips; crossdf prepare --layout folder ...")
    _, rows = prepare_clips(args, root, out, "footage")
    return dict(plan=plan, faces=len(rows))


def cmd_build(args):
    t0 = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    man = ensure_synth(args)
    by_id = test_reals(man)
    uf.SIZE = load_rgb(next(iter(by_id.values()))[0]).shape[0]
    write_control(man, out)
    log(f"unseen-check: crops are {uf.SIZE}x{uf.SIZE}")
    log(f"unseen-check: {sum(map(len, by_id.values()))} test reals, {len(by_id)} identities")
    rows, stats = build_images(args, by_id, out)
    build_jpeg(rows, out)
    t_img = time.time() - t0
    video = None
    if args.videos > 0 and shutil.which("ffmpeg"):
        video = build_videos(args, by_id, out, uf.Frame(uf.template()))
    footage = build_footage(args, by_id, out, uf.Frame(uf.template())) if args.footage else None
    info = dict(synth=str(man), seed=args.seed, methods=uf.METHODS, n_real=sum(r["label"] == 0 for r in rows),
                n_fake=sum(r["label"] == 1 for r in rows), diff_stats=stats, video=video, footage=footage,
                seconds_images=round(t_img, 1), seconds_total=round(time.time() - t0, 1))
    (out / "build.json").write_text(json.dumps(info, indent=2))
    log(f"unseen-check: built in {time.time() - t0:.0f}s -> {out}")
    for m, s in stats.items():
        log(f"  {m:15s} n={s['n']:4d} mean|dY|={s['mean_abs_luma_diff']:.2f} "
            f"min={s['min_mean_abs_luma_diff']:.2f}")


# ---------------------------------------------------------------- contact sheet

def cmd_sheet(args):
    out = Path(args.out)
    rows = read_jsonl(out / "manifest.jsonl")
    reals = {}
    for r in rows:
        if r["label"] == 0:
            reals.setdefault(r["video"], r["path"])
    idents = sorted(reals)
    rng = np.random.default_rng(args.seed)
    pick = [idents[i] for i in sorted(rng.choice(len(idents), min(args.sheet_rows, len(idents)),
                                                 replace=False))]
    tile = 160
    cols = ["real"] + uf.METHODS
    grid = np.full((len(pick) * tile + 24, len(cols) * tile), 255, np.uint8)
    for c, m in enumerate(cols):
        cv2.putText(grid, m, (c * tile + 4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 0, 1, cv2.LINE_AA)
    for r, ident in enumerate(pick):
        for c, m in enumerate(cols):
            p = reals[ident] if m == "real" else f"images/{m}/{safe(ident)}_0.png"
            if not (out / p).exists():
                continue
            im = np.asarray(Image.open(out / p).convert("L"))
            grid[24 + r * tile:24 + (r + 1) * tile, c * tile:(c + 1) * tile] = cv2.resize(
                im, (tile, tile), interpolation=cv2.INTER_AREA)
    Image.fromarray(grid).save(args.png)
    log(f"unseen-check: contact sheet {args.png} ({len(pick)} identities x {len(cols)} columns)")
    for cond in ("footage", "video"):  # the middle face of every clip, as prepare aligned it
        mf = out / f"manifest_{cond}.jsonl"
        if not mf.exists():
            continue
        clips = {}
        for r in read_jsonl(mf):
            clips.setdefault(r["video"], []).append(r)
        names = sorted(clips, key=lambda v: (v.split("/")[-1], v.split("/")[0] != "real", v))
        per_row = 4
        rows_n = (len(names) + per_row - 1) // per_row
        g = np.full((rows_n * (tile + 18), per_row * tile), 255, np.uint8)
        for i, v in enumerate(names):
            r, c = divmod(i, per_row)
            rec = clips[v][len(clips[v]) // 2]
            im = np.asarray(Image.open(out / rec["path"]).convert("L"))
            y = r * (tile + 18)
            g[y + 18:y + 18 + tile, c * tile:(c + 1) * tile] = cv2.resize(
                im, (tile, tile), interpolation=cv2.INTER_AREA)
            cv2.putText(g, v[:26], (c * tile + 2, y + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.33, 0, 1,
                        cv2.LINE_AA)
        p = Path(args.png)
        p2 = p.with_name(f"{p.stem}_{cond}{p.suffix}")
        Image.fromarray(g).save(p2)
        log(f"unseen-check: {cond} sheet {p2} ({len(names)} clips, the middle face of each)")


# ---------------------------------------------------------------- eval

def auc(scores, labels):
    """Mann-Whitney AUC with ties counted half; None when a class is missing."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels)
    npos, nneg = int((y == 1).sum()), int((y == 0).sum())
    if npos == 0 or nneg == 0:
        return None
    from scipy.stats import rankdata
    r = rankdata(s)
    return float((r[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def video_auc(recs):
    groups = {}
    for r in recs:
        groups.setdefault(r["video"], []).append(r)
    s = [np.mean([x["score"] for x in g]) for g in groups.values()]
    y = [g[0]["label"] for g in groups.values()]
    return auc(s, y), len(groups)


CONDITIONS = [("control", "manifest_control.jsonl"), ("clean", "manifest.jsonl"), ("jpeg75", "manifest_jpeg75.jsonl"),
              ("video", "manifest_video.jsonl"), ("footage", "manifest_footage.jsonl")]


def cmd_eval(args):
    out = Path(args.out)
    rfile = out / "results.json"  # earlier runs' rows are kept; this run's replace theirs
    saved = json.loads(rfile.read_text()) if rfile.exists() else {}
    results = {}
    for model in args.model:
        name = Path(model).name if Path(model).is_dir() else Path(model).parent.name
        results[name] = saved.get(name, {})
        for cond, mf in CONDITIONS:
            if args.conditions and cond not in args.conditions.split(","):
                continue
            mpath = out / mf
            if not mpath.exists():
                log(f"unseen-check: no {mpath}; skipping condition {cond}")
                continue
            dom = {r["path"]: r["domain"] for r in read_jsonl(mpath)}
            sfile = out / f"scores_{name}_{cond}.jsonl"
            jfile = out / f"eval_{name}_{cond}.json"
            t0 = time.time()
            cmd = ["nice", "-n", "10", str(args.crossdf), "eval", "--model", str(model),
                   "--data", str(mpath), "--json", str(jfile), "--scores", str(sfile)]
            log("unseen-check: " + " ".join(cmd))
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            dt = time.time() - t0
            recs = read_jsonl(sfile)
            for r in recs:
                r["domain"] = dom.get(r.get("path"), "?")
            reals = [r for r in recs if r["label"] == 0]
            per = {}
            for m in sorted({r["domain"] for r in recs if r["label"] == 1}):
                fk = [r for r in recs if r["domain"] == m]
                sub = reals + fk
                per[m] = auc([r["score"] for r in sub], [r["label"] for r in sub])
            fa = auc([r["score"] for r in recs], [r["label"] for r in recs])
            va, nv = video_auc(recs)
            per_real_video = {}
            for r in reals:
                per_real_video.setdefault(r["video"], []).append(r["score"])
            per_real_video = {v: round(float(np.mean(x)), 3) for v, x in per_real_video.items()}
            levels = json.loads(jfile.read_text())
            cross = {l.get("level"): l.get("metrics", {}).get("auc") for l in levels}
            results[name][cond] = dict(per_method=per, frame_auc=fa, video_auc=va, n=len(recs),
                                       n_videos=nv, crossdf_frame_auc=cross.get("frame"),
                                       crossdf_video_auc=cross.get("video"),
                                       mean_real=float(np.mean([r["score"] for r in reals])),
                                       real_flagged=float(np.mean([r["score"] >= 0.5 for r in reals])),
                                       acc=float(np.mean([(r["score"] >= 0.5) == (r["label"] == 1)
                                                          for r in recs])),
                                       seconds=round(dt, 1),
                                       real_video_mean_score=per_real_video if cond == "footage" else None)
    saved.update(results)
    rfile.write_text(json.dumps(saved, indent=2))
    results = {m: {c: r[c] for c, _ in CONDITIONS if c in r} for m, r in results.items()}
    print_table(results)


def print_table(results):
    fmt = lambda v: "  -  " if v is None else f"{v:.3f}"  # noqa: E731
    for name, conds in results.items():
        print(f"\nmodel {name}")
        doms = sorted({m for r in conds.values() for m in r["per_method"]} - set(uf.METHODS))
        cols = uf.METHODS + doms
        hdr = ["condition"] + cols + ["frameAUC", "videoAUC", "real>=.5", "n", "sec"]
        short = {"poisson_swap": "poisson", "lab_swap": "labswap", "neural_texture": "ntex",
                 "reenact": "reenact", "lowres_gan": "lowgan", "morph": "morph",
                 "color_mismatch": "color", "noise_mismatch": "noise", "jpeg_splice": "jpgspl",
                 "self_blend": "s_blend*", "identity_swap": "id_swap*", "gan_upsample": "gan_up*",
                 "face_warp": "f_warp+", "local_edit": "l_edit+"}
        print(" ".join(f"{short.get(h, h):>8s}" for h in hdr))
        for cond, r in conds.items():
            cells = [cond] + [fmt(r["per_method"].get(m)) for m in cols] + [
                fmt(r["frame_auc"]), fmt(r["video_auc"]), fmt(r["real_flagged"]), str(r["n"]),
                f"{r['seconds']:.0f}"]
            print(" ".join(f"{c:>8s}" for c in cells))
        rv = conds.get("footage", {}).get("real_video_mean_score")
        if rv:
            print("footage, mean score of each real registry clip: "
                  + ", ".join(f"{k.split('/')[-1]}={v:.2f}" for k, v in sorted(rv.items())))
    print("\ncolumns: frame AUC of each method's fakes against all reals of the condition; "
          "* = a method the demo trains on, + = crossdf's held-out method (control condition "
          "only); real>=.5 = share of reals scored fake at 0.5; sec = crossdf eval wall time")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--out", default="/tmp/unseen", help="working folder (images, manifests)")
        sp.add_argument("--crossdf", default=str(DEFAULT_BIN), type=Path)
        sp.add_argument("--seed", type=int, default=0)

    b = sub.add_parser("build", help="forgeries, JPEG copies, videos and manifests")
    e = sub.add_parser("eval", help="score models on every condition; print the table")
    s = sub.add_parser("sheet", help="PNG grid of example forgeries per method")
    a = sub.add_parser("all", help="build, sheet and eval")
    for sp in (b, e, s, a):
        common(sp)
    for sp in (b, a):
        sp.add_argument("--synth", default="/tmp/synth224",
                        help="crossdf synth output at --size 224 (made if missing)")
        sp.add_argument("--fakes-per-identity", type=int, default=4,
                        help="real variants of each test identity forged by every method")
        sp.add_argument("--videos", type=int, default=8, help="identities with video clips (0: none)")
        sp.add_argument("--fakes-per-video-identity", type=int, default=3,
                        help="fake clips per video identity (methods taken in turn)")
        sp.add_argument("--frames", type=int, default=32)
        sp.add_argument("--no-footage", dest="footage", action="store_false",
                        help="skip the registry-video condition (forgeries pasted into real clips)")
        sp.add_argument("--size", type=int, default=224,
                        help="crop side for the synth run made when --synth has none")
    for sp in (s, a):
        sp.add_argument("--png", default="/tmp/unseen_sheet.png")
        sp.add_argument("--sheet-rows", type=int, default=4, help="identities (rows) in the sheet")
    for sp in (e, a):
        sp.add_argument("--model", action="append", required=True,
                        help="run folder or checkpoint; repeat for several")
        sp.add_argument("--conditions", default="",
                        help="comma separated subset of control,clean,jpeg75,video,footage (default: all)")
    args = p.parse_args()
    if args.cmd in ("build", "all"):
        cmd_build(args)
    if args.cmd in ("sheet", "all"):
        cmd_sheet(args)
    if args.cmd in ("eval", "all"):
        cmd_eval(args)


if __name__ == "__main__":
    main()
