#!/usr/bin/env bash
# Sourced by scripts/setup.sh only when `ffmpeg` or `ffprobe` is missing: crossdf decodes
# videos by running Debian's ffmpeg/ffprobe as subprocesses (src/media/video.rs).
# Installs the `ffmpeg` package with apt (as root, or through sudo); otherwise says what
# to install. Never fails the set-up: only `crossdf prepare` on videos needs it.

crossdf_install_ffmpeg() {
  local apt=(apt-get install -y --no-install-recommends ffmpeg)
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "crossdf setup: ffmpeg/ffprobe not found and apt-get is not available;" >&2
    echo "  install FFmpeg (ffmpeg and ffprobe on PATH) to prepare video datasets." >&2
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "crossdf setup: ffmpeg/ffprobe not found; run as root (or with sudo):" >&2
      echo "  apt-get update && ${apt[*]}" >&2
      return 1
    fi
  fi
  echo "crossdf setup: installing Debian's ffmpeg (video decoding for crossdf prepare)" >&2
  # Try without refreshing the package lists first: a fresh image often has them already.
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${apt[@]}" >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${apt[@]}" >/dev/null; then
      echo "crossdf setup: could not install ffmpeg with apt-get; install it by hand." >&2
      return 1
    fi
  fi
  command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1
}

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  crossdf_install_ffmpeg || true
fi
