"""The two clip conditions of unseen_check.py: H.264 clips of the test crops on a backdrop
("video"), and the real registry videos with each frame's face forged and pasted back
("footage"), both through `crossdf prepare`."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import unseen_forgeries as uf
from unseen_io import face_code, forge, load_rgb, log, luma, pick_donor, read_jsonl, safe, seed_of, write_jsonl


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
