#!/usr/bin/env bash
# Prepares a checkout to run: ffmpeg/ffprobe from the system package manager when missing,
# a virtual environment in .venv with the pinned Python packages (yt-dlp with its YouTube
# challenge solver scripts, and Deno to run them), and the offline musicnn weights; then
# `musicrec doctor` checks the result. Sourced by run-bot.sh and run-tests.sh; safe to run
# again (it skips what is done).
#
# Usage: scripts/setup.sh [runtime|test]
set -euo pipefail

profile="${1:-runtime}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

install_ffmpeg() {
    if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
        return 0
    fi
    say "ffmpeg/ffprobe not found; installing them with apt-get"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "ffmpeg is missing and I am not root and there is no sudo: install the 'ffmpeg' package (it provides ffprobe too), then run this again."
        sudo="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 || die "ffmpeg is missing and this system has no apt-get: install ffmpeg and ffprobe with your package manager, then run this again."
    $sudo apt-get update -qq || die "apt-get update failed: install the 'ffmpeg' package by hand, then run this again."
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ffmpeg >/dev/null ||
        die "apt-get could not install ffmpeg: install it by hand, then run this again."
    command -v ffprobe >/dev/null 2>&1 || die "ffprobe is still missing after installing ffmpeg."
}

install_python_packages() {
    local python
    python="$(find_python)" || die "Python 3.11 or newer is required (try: apt-get install python3 python3-venv)."
    if [ ! -x "$venv/bin/python" ]; then
        say "creating virtual environment in .venv"
        "$python" -m venv "$venv" || die "could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)."
    fi
    local extras=""
    [ "$profile" = "test" ] && extras="[test]"
    # Reinstall only when the dependency declarations change.
    local stamp="$venv/.musicrec-installed-$profile"
    local digest
    digest="$(cat "$repo_root/pyproject.toml" "$repo_root/constraints.txt" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        say "installing Python packages (first run takes a few minutes)"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -c "$repo_root/constraints.txt" -e "$repo_root$extras"
        # musicnn's wheel carries its pretrained weights; its code pins numpy<1.17 and is
        # never imported, so it is installed without its dependencies, for its files only.
        "$venv/bin/python" -m pip install --quiet --no-deps "musicnn==0.1.0"
        echo "$digest" > "$stamp"
    fi
}

install_musicnn_weights() {
    # musicnn's weights travel in a PyPI package, so every install can tag music offline.
    "$venv/bin/musicrec" models download musicnn --no-progress >/dev/null ||
        die "could not install the musicnn weights; run '.venv/bin/musicrec models download musicnn' to see why."
}

check_installation() {
    # yt-dlp-ejs (YouTube's challenge solver scripts) and Deno (the runtime that runs them)
    # come with the Python packages; ask yt-dlp, through musicrec doctor, that it finds both.
    local report
    report="$("$venv/bin/musicrec" doctor 2>&1)" || {
        printf '%s\n' "$report" | grep -v '^OK' >&2
        die "the installation is incomplete (the FIX lines above say what to do)."
    }
}

install_ffmpeg
install_python_packages
install_musicnn_weights
check_installation
