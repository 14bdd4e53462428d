#!/usr/bin/env python3
"""Video scoring end to end, crossdf against a plain Python pipeline on the same frames.

`pipeline` is what a PyTorch user would write for `crossdf detect VIDEO`: ffmpeg decodes the
same evenly spaced frames, facenet-pytorch's MTCNN finds the faces, PIL aligns them on the
five landmarks as src/face/align.rs does, and the DID twin of scripts/bench_pytorch.py, with
the checkpoint's own weights, scores them (G, A_df, C, flip-averaged when the run's config
says `eval_flip`). `compare` times both sides from file path to scores, each in a fresh
process, and prints the table. Run through scripts/bench-video, which builds the venv.
"""
import time

T_START = time.perf_counter()  # before the imports: `import torch` is part of the cost

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import tomllib  # noqa: E402

BATCH = 8  # frames per detector call, as DetectOptions::default().batch
ALIGN_SIZE, MARGIN = 224, 1.3  # `detect --align-size` and `--margin` defaults
MIN_PROB, MIN_FACE = 0.9, 40.0  # `detect --min-prob` and `--min-face` defaults
# ArcFace's five points in a 112x112 crop, the template src/face/align.rs uses.
ARCFACE_112 = [(38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366),
               (41.5493, 92.3655), (70.7299, 92.2041)]


# ---- decoding: the same frames crossdf picks (src/media/video.rs) ----

def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height,nb_frames", "-of", "json", path],
                         check=True, capture_output=True).stdout
    s = json.loads(out)["streams"][0]
    return int(s["width"]), int(s["height"]), int(s["nb_frames"])


def frame_indices(total, n):
    # Middle frame of each of n equal parts: FrameSelection::Even.
    return list(range(total)) if n >= total else [(2 * i + 1) * total // (2 * n)
                                                  for i in range(n)]


def frames(path, n):
    """Yields (index, HxWx3 uint8 array) as ffmpeg sends them, one frame held at a time."""
    import numpy as np
    w, h, total = probe(path)
    idx = frame_indices(total, n)
    select = "+".join(f"eq(n\\,{i})" for i in idx)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", path, "-map", "0:v:0",
           "-an", "-sn", "-vf", f"select='{select}'", "-vsync", "0", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "pipe:1"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    size = w * h * 3
    for i in idx:
        buf = p.stdout.read(size)
        if len(buf) < size:
            break
        yield i, np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    p.stdout.close()
    p.wait()


# ---- alignment (src/face/align.rs): least-squares similarity onto the template ----

def template(size, margin):
    s, c = size / 112.0, size / 2.0
    return [(c + (x * s - c) / margin, c + (y * s - c) / margin) for x, y in ARCFACE_112]


def align(img, landmarks, size=ALIGN_SIZE, margin=MARGIN):
    """Umeyama in 2-D (closed form, no reflection), then a bilinear warp with PIL.

    crossdf repeats the border pixels outside the frame and falls back to a box crop for
    implausible landmarks; this pipeline fills black and always aligns, which only matters
    for faces at the frame edge or badly detected ones (none in the test video)."""
    import numpy as np
    from PIL import Image
    src, dst = np.asarray(landmarks, np.float64), np.asarray(template(size, margin))
    sc, dc = src - src.mean(0), dst - dst.mean(0)
    var = (sc ** 2).sum()
    a = (sc * dc).sum() / var
    b = (sc[:, 0] * dc[:, 1] - sc[:, 1] * dc[:, 0]).sum() / var
    tx, ty = dst.mean(0) - (a * src.mean(0)[0] - b * src.mean(0)[1],
                            b * src.mean(0)[0] + a * src.mean(0)[1])
    # PIL wants the crop -> frame map: the inverse similarity. PIL maps pixel centres
    # (x + 0.5), imageproc pixel indices: the last terms move one convention onto the other.
    d = a * a + b * b
    ia, ib = a / d, -b / d
    inv = (ia, -ib, 0.5 - (ia * tx - ib * ty) - 0.5 * (ia - ib),
           ib, ia, 0.5 - (ib * tx + ia * ty) - 0.5 * (ib + ia))
    return Image.fromarray(img).transform((size, size), Image.AFFINE, inv, Image.BILINEAR)


# ---- the DID twin with the run's weights ----

def load_did(run):
    """scripts/bench_pytorch.py's Did, built from the run's config.toml, with the weights of
    its best.safetensors (else last). crossdf's VarStore paths are the twin's state-dict
    names under `model.`, except T's convolutions (unused when scoring)."""
    import torch
    from safetensors.torch import load_file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_pytorch import Did
    ckpt = run
    if os.path.isdir(run):
        ckpt = next(os.path.join(run, f) for f in ("best.safetensors", "last.safetensors")
                    if os.path.exists(os.path.join(run, f)))
    with open(os.path.join(os.path.dirname(ckpt), "config.toml"), "rb") as f:
        cfg = tomllib.load(f)
    m = cfg["model"]
    model = Did(m["backbone"], m["variant"], m["size"], m["t_arch"], m["dropout"])
    state = {k[len("model."):]: v for k, v in load_file(ckpt).items()
             if k.startswith("model.") and not k.startswith("model.t.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # What the file may lack: T, BatchNorm's step counter (crossdf keeps none) and the
    # ImageNet statistics (constants in crossdf, buffers in the twin).
    missing = [k for k in missing if not k.startswith("t.") and k not in ("mean", "std")
               and not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{ckpt}: names do not match the twin: missing {missing[:5]}, "
                 f"unexpected {unexpected[:5]}")
    return model.eval(), m["size"], cfg["data"].get("eval_flip", False)


def pipeline(a):
    import torch
    import numpy as np
    from facenet_pytorch import MTCNN
    from PIL import Image
    torch.set_num_threads(a.threads)
    t_import = time.perf_counter()
    # facenet-pytorch's defaults, as crossdf's MtcnnConfig; keep_all so that the thresholds
    # below choose, not MTCNN's own single-face pick.
    mtcnn = MTCNN(keep_all=True, device="cpu")
    model, size, flip = load_did(a.model)
    t_load = time.perf_counter()
    print(json.dumps({"import_s": t_import - T_START, "load_s": t_load - t_import}), flush=True)

    def score(crops):
        # BT.601 gray (PIL's "L" uses the same weights), bilinear resize, [0, 1].
        x = torch.from_numpy(np.stack([np.asarray(c.convert("L").resize(
            (size, size), Image.BILINEAR)) for c in crops])).float().div_(255).unsqueeze(1)
        with torch.no_grad():
            s = model.score(x)
            if flip:
                s = (s + model.score(x.flip(3))) / 2
        return s.tolist()

    for path in a.videos:
        t0 = time.perf_counter()
        per_frame, n_frames, batch = [], 0, []

        def flush():
            boxes, probs, points = mtcnn.detect(np.stack([f for _, f in batch]), landmarks=True)
            crops, which = [], []
            for (i, f), bx, pr, pt in zip(batch, boxes, probs, points):
                if bx is None:
                    continue
                # crossdf's Selection: score >= 0.9, shorter side >= 40 px, then the largest.
                ok = [k for k in range(len(bx)) if pr[k] >= MIN_PROB
                      and min(bx[k][2] - bx[k][0], bx[k][3] - bx[k][1]) >= MIN_FACE]
                if ok:
                    k = max(ok, key=lambda k: (bx[k][2] - bx[k][0]) * (bx[k][3] - bx[k][1]))
                    crops.append(align(f, pt[k]))
                    which.append(i)
            if crops:
                per_frame.extend(zip(which, score(crops)))
            batch.clear()

        for i, f in frames(path, a.frames):
            n_frames += 1
            batch.append((i, f))
            if len(batch) == BATCH:
                flush()
        if batch:
            flush()
        s = [v for _, v in per_frame]
        print(json.dumps({"path": path, "frames": n_frames, "faces": len(s),
                          "score": sum(s) / len(s) if s else None,
                          "per_frame": [{"frame": i, "score": v} for i, v in per_frame],
                          "seconds": time.perf_counter() - t0}), flush=True)


# ---- the comparison ----

def busy_s():
    """CPU seconds the whole machine has spent busy (all cores, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def timed(cmd, env, ok=(0,)):
    """Wall time of cmd, and the CPU seconds other processes took meanwhile: on 2 cores a
    build or a training run beside the benchmark shows up here, not only as slow figures."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, t0 = busy_s(), time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
    if r.returncode not in ok:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return wall, max(0.0, busy_s() - busy - ours), r.stdout


def compare(a):
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))  # libtorch's intra-op threads
    py = [sys.executable, os.path.abspath(__file__), "pipeline", "--model", a.model,
          "--frames", str(a.frames), "--threads", str(a.threads)]
    sides, counts = ("crossdf", "python"), (1, 1 + a.warm)
    walls = {(s, n): [] for s in sides for n in counts}
    foreign = {k: [] for k in walls}
    last, inproc = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "crossdf.jsonl")
        # One video, then the same video 1 + K times in one process: the difference over K is
        # one video's time without start-up, imports and model loading ("warm"). Sides
        # alternate within a round so that a slow spell of the machine hits both; each figure
        # is the best of the rounds (other load only ever adds time).
        for _ in range(a.repeat):
            for n in counts:
                for side in sides:
                    if side == "crossdf":
                        w, f, _ = timed([a.crossdf, "detect", "--model", a.model, "--frames",
                                         str(a.frames), "--quiet", "--json", out]
                                        + [a.video] * n, env, ok=(0, 1))  # 1: a fake found
                        with open(out) as fh:
                            lines = [json.loads(x) for x in fh if x.strip()]
                    else:
                        w, f, o = timed(py + [a.video] * n, env)
                        lines = [json.loads(x) for x in o.splitlines() if x.strip()]
                        if n > 1:  # its own clocks, a check on the difference
                            inproc.append((w, lines))
                    walls[side, n].append(w)
                    foreign[side, n].append(f)
                    last[side] = [x for x in lines if "path" in x][-1]
    print(f"{a.video}: {a.frames} evenly spaced frames, {a.threads} threads, model {a.model}; "
          f"best of {a.repeat} round(s), warm = one video of {1 + a.warm} in one process")
    print(f"{'side':8} {'frames':>6} {'faces':>5} {'wall s':>7} {'frames/s':>8} "
          f"{'warm s':>7} {'frames/s':>8}")
    fps = {}
    for side in sides:
        v = last[side]
        faces = len(v["faces"]) if side == "crossdf" else v["faces"]
        cold = min(walls[side, 1])
        warm = (min(walls[side, counts[1]]) - cold) / a.warm
        fps[side] = (v["frames"] / cold, v["frames"] / warm if warm > 0 else float("nan"))
        print(f"{side:8} {v['frames']:6d} {faces:5d} {cold:7.2f} {fps[side][0]:8.2f} "
              f"{warm:7.2f} {fps[side][1]:8.2f}")
    print(f"{'ratio':8} {'':6} {'':5} {'':7} {fps['crossdf'][0] / fps['python'][0]:7.2f}x "
          f"{'':7} {fps['crossdf'][1] / fps['python'][1]:7.2f}x  (crossdf over Python)")
    for side in sides:
        print(f"{side} per round, wall s for {' / '.join(map(str, counts))} video(s) "
              "[other processes' CPU s meanwhile]: "
              + ", ".join(f"{w1:.2f} / {w2:.2f} [{f1:.1f} / {f2:.1f}]" for w1, w2, f1, f2 in
                          zip(walls[side, 1], walls[side, counts[1]], foreign[side, 1],
                              foreign[side, counts[1]])))
    w, best = min(inproc, key=lambda r: r[0])
    vids = sorted(x["seconds"] for x in best[2:])
    print(f"python in-process, its best {1 + a.warm}-video run ({w:.2f} s): import "
          f"{best[0]['import_s']:.2f} s, MTCNN + DID load {best[0]['load_s']:.2f} s, first video "
          f"{best[1]['seconds']:.2f} s, later ones median {vids[len(vids) // 2]:.2f} s")
    total, other = sum(sum(w) for w in walls.values()), sum(sum(f) for f in foreign.values())
    print(f"other processes: {other:.1f} CPU s over {total:.0f} s of timing"
          + ("  (busy machine: figures skewed)" if other > 0.05 * total else ""))
    c, p = last["crossdf"], last["python"]
    cf = {x["frame"]: x["score"] for x in c["per_frame"]}
    pf = {x["frame"]: x["score"] for x in p["per_frame"]}
    both = sorted(set(cf) & set(pf))
    if both:
        print(f"scores: video {c['score']:.4f} (crossdf) vs {p['score']:.4f} (python); "
              f"{len(both)} frames scored by both, largest per-frame difference "
              f"{max(abs(cf[i] - pf[i]) for i in both):.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("pipeline", help="score videos the Python way (JSON lines)")
    pp.add_argument("videos", nargs="+")
    cp = sub.add_parser("compare", help="time crossdf detect and the pipeline; print a table")
    cp.add_argument("video")
    cp.add_argument("--crossdf", default="target/release/crossdf")
    cp.add_argument("--repeat", type=int, default=3, help="rounds; the best one counts")
    cp.add_argument("--warm", type=int, default=4, help="extra copies of the video per "
                    "process for the warm figure")
    for p in (pp, cp):
        p.add_argument("--model", required=True, help="crossdf run folder or checkpoint")
        p.add_argument("--frames", type=int, default=32)
        p.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    pipeline(a) if a.cmd == "pipeline" else compare(a)


if __name__ == "__main__":
    main()
