#!/usr/bin/env bash
# Sets up everything the engine and its tests need on a fresh machine that has only
# python3: a virtualenv with the package and its dependencies, and the system tools
# (espeak-ng for offline prompts, sox/ffmpeg for audio) when they are missing; with
# --browser (the test command) also chromium and chromium-driver for the browser tests of the
# console and sipp (sip-tester) for the tests of the benchmark's SIPp scenarios.
# Safe to run again: it only reinstalls when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

need_apt=()
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need_apt+=(sox)
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
if [ "${1:-}" = "--browser" ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
  [ -d /usr/share/fonts/truetype/nanum ] || need_apt+=(fonts-nanum)  # Korean text in screenshots
  command -v sipp >/dev/null 2>&1 || need_apt+=(sip-tester)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    echo "bootstrap: installing ${need_apt[*]} (apt-get)"
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null 2>&1 \
      || echo "bootstrap: warning: could not install ${need_apt[*]}; prompts fall back where they can, browser tests are skipped" >&2
  else
    echo "bootstrap: warning: ${need_apt[*]} missing and no apt-get; install them by hand" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "bootstrap: installing ivr-engine and its dependencies"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch "$STAMP"
fi
