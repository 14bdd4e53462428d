#!/usr/bin/env bash
# Sourced by scripts/test only: the browser test of `crossdf serve`'s page drives a real
# headless Chromium. Installs Debian's `chromium` package when it is missing (as root, or
# through passwordless sudo, as setup-ffmpeg.sh does for FFmpeg). Never fails: without a
# browser that one test says why and skips.

crossdf_install_chromium() {
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || command -v google-chrome >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "crossdf test setup: no Chromium and no apt-get; the browser test will skip" >&2
    return 1
  fi
  if ! crossdf_as_root true; then
    echo "crossdf test setup: no Chromium; as root run: apt-get install -y chromium" >&2
    return 1
  fi
  echo "crossdf test setup: installing Debian's chromium (for the web page's browser test)" >&2
  if ! crossdf_as_root apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
    crossdf_as_root apt-get update -q >/dev/null 2>&1 || true
    crossdf_as_root apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || {
      echo "crossdf test setup: apt-get could not install chromium; the browser test will skip" >&2
      return 1
    }
  fi
}

if ! declare -F crossdf_as_root >/dev/null; then
  crossdf_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
      env DEBIAN_FRONTEND=noninteractive "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
    else
      return 2
    fi
  }
fi
crossdf_install_chromium || true
