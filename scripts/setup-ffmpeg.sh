#!/usr/bin/env bash
# Sourced by scripts/setup.sh only when `ffmpeg` or `ffprobe` is missing: crossdf decodes
# videos by running FFmpeg's command-line tools as subprocesses (src/media/video.rs).
# Installs Debian's `ffmpeg` package with apt-get (as root, or through passwordless sudo);
# otherwise prints what to install. Never fails the set-up: only video decoding needs it.

crossdf_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    env DEBIAN_FRONTEND=noninteractive "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
  else
    return 2
  fi
}

crossdf_install_ffmpeg() {
  local hint="apt-get update && apt-get install -y --no-install-recommends ffmpeg"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "crossdf setup: ffmpeg/ffprobe not found and there is no apt-get here;" >&2
    echo "  install FFmpeg (ffmpeg and ffprobe on PATH) to prepare video datasets." >&2
    return 1
  fi
  if ! crossdf_as_root true; then
    echo "crossdf setup: ffmpeg/ffprobe not found; as root (or with sudo) run:" >&2
    echo "  $hint" >&2
    return 1
  fi
  echo "crossdf setup: installing Debian's ffmpeg (video decoding for crossdf prepare)" >&2
  # Fresh images often have no package lists yet: refresh them only when the install fails.
  if ! crossdf_as_root apt-get install -y -q --no-install-recommends ffmpeg >/dev/null 2>&1; then
    crossdf_as_root apt-get update -q >/dev/null 2>&1 || true
    if ! crossdf_as_root apt-get install -y -q --no-install-recommends ffmpeg >/dev/null; then
      echo "crossdf setup: apt-get could not install ffmpeg; install it by hand: $hint" >&2
      return 1
    fi
  fi
  if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
    echo "crossdf setup: ffmpeg was installed but ffmpeg/ffprobe are not on PATH" >&2
    return 1
  fi
}

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  crossdf_install_ffmpeg || true
fi
