#!/usr/bin/env bash
# Sourced by the other scripts: makes libtorch 2.11.0 available and exports LIBTORCH.
# A user with their own libtorch (e.g. a CUDA build) sets LIBTORCH and nothing is fetched.
# Otherwise the CPU part of the PyPI torch==2.11.0 wheel, plus the two CUDA runtime
# libraries that libtorch_cpu.so links against, are unpacked once into a cache outside git.
# The wheel's own RUNPATH ($ORIGIN/../../nvidia/cu13/lib) finds those libraries, and
# build.rs writes $LIBTORCH/lib into the binary's rpath, so nothing needs exporting at run time.

crossdf_cache="${CROSSDF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossdf}"
TORCH_VERSION=2.11.0

crossdf_fetch_libtorch() {
  local root="$1" tmp
  echo "crossdf setup: fetching libtorch $TORCH_VERSION (PyPI torch wheel, CPU part) into $root" >&2
  tmp="$(mktemp -d "${crossdf_cache}/fetch.XXXXXX")" || return 1
  if ! python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp/whl" \
      "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85; then
    echo "crossdf setup: could not download torch==$TORCH_VERSION with pip." >&2
    echo "  Install python3 with pip and make PyPI reachable, or set LIBTORCH to an unpacked libtorch $TORCH_VERSION." >&2
    rm -rf "$tmp"; return 1
  fi
  python3 - "$tmp" <<'PY' || { rm -rf "$tmp"; return 1; }
import sys, zipfile, glob, os
tmp = sys.argv[1]
out = os.path.join(tmp, "root")
keep = ("torch/lib/", "torch/include/", "torch/share/", "nvidia/cu13/lib/")
for whl in glob.glob(os.path.join(tmp, "whl", "*.whl")):
    with zipfile.ZipFile(whl) as z:
        for info in z.infolist():
            if info.filename.startswith(keep):
                z.extract(info, out)
PY
  rm -rf "$tmp/whl"
  mkdir -p "$(dirname "$root")"
  rm -rf "$root"
  mv "$tmp/root" "$root" && rmdir "$tmp"
  touch "$root/.complete"
}

if [ -z "${LIBTORCH:-}" ]; then
  mkdir -p "$crossdf_cache"
  crossdf_root="$crossdf_cache/libtorch-$TORCH_VERSION"
  if [ ! -f "$crossdf_root/.complete" ]; then
    crossdf_fetch_libtorch "$crossdf_root" || { echo "crossdf setup failed" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export LIBTORCH="$crossdf_root/torch"
fi
if [ ! -d "$LIBTORCH/lib" ]; then
  echo "crossdf setup: LIBTORCH=$LIBTORCH has no lib/ folder; point it at an unpacked libtorch $TORCH_VERSION" >&2
  return 1 2>/dev/null || exit 1
fi
export LIBTORCH_BYPASS_VERSION_CHECK="${LIBTORCH_BYPASS_VERSION_CHECK:-0}"
# Video decoding (crossdf prepare) runs ffmpeg/ffprobe; install them once when missing.
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  source "$(dirname "${BASH_SOURCE[0]}")/setup-ffmpeg.sh"
fi
