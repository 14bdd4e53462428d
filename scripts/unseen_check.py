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
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import unseen_forgeries as uf
from unseen_clips import build_footage, build_videos
from unseen_io import (DEFAULT_BIN, face_code, forge, load_rgb, log, luma, pick_donor, read_jsonl,
                       safe, save_gray, seed_of, write_jsonl)


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
