#!/usr/bin/env bash
# Debian packages that make museforge's output richer: FluidSynth and a General MIDI soundfont
# (WAV rendering), a CJK font (Chinese text in images). Everything works without them: music is
# then rendered by the built-in synthesiser. Installs only what is missing; never fails the build.
# Extra package names given as arguments (the test target passes chromium and postgresql, for the
# browser tests and the studio's database tests) are installed the same way.
set -u
packages=(fluidsynth fluid-soundfont-gm fonts-noto-cjk "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: optional system packages missing: ${missing[*]}."
  echo "      Install them with: sudo apt-get install ${missing[*]}"
  echo "      Until then, music is rendered with the built-in synthesiser (and browser and PostgreSQL tests are skipped)."
  exit 0
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || echo "note: could not install ${missing[*]}; music falls back to the built-in synthesiser."
fi
exit 0
