#!/usr/bin/env bash
# Installs the system packages attnscope builds against, when any is missing.
#   scripts/install-deps.sh            GUI build + tests (default)
#   scripts/install-deps.sh --headless  core, kernels, tests and command-line tools only
#   scripts/install-deps.sh --fuzz      what scripts/fuzz.sh needs: the headless set (clang and its sanitizer/libFuzzer
#                                       runtime are in every set: ctest builds with them)
#   scripts/install-deps.sh --walkthrough  the GUI build plus Xvfb, xdotool and ImageMagick (scripts/walkthrough.sh)
# Debian 12 / Ubuntu 22.04+: apt-get, through sudo when not root.
# Other systems: prints the package list and stops with a non-zero status.
set -euo pipefail

packages=(cmake g++ make pkg-config python3 doctest-dev nlohmann-json3-dev libstb-dev
          python3-numpy libopenblas0-pthread  # NumPy with OpenBLAS: scripts/bench_numpy.py
          clang libclang-rt-14-dev ninja-build)  # ctest's sanitizer build and fuzzers (ATTNSCOPE_SANITIZER_TESTS)
if [[ "${1:-}" != "--headless" && "${1:-}" != "--fuzz" ]]; then
  [[ "${1:-}" == "--walkthrough" ]] && packages+=(xvfb xdotool imagemagick)
  packages+=(libimgui-dev libglfw3-dev python3-glad libegl-dev libgl-dev libegl1-mesa-dev
             libgl1-mesa-dri fonts-dejavu-core
             libavcodec-dev libavformat-dev libavfilter-dev libswscale-dev libavutil-dev  # video export
             libpng-dev  # screenshots: the experiment as a PNG text chunk
             libtinyxml2-dev)  # tests read exported SVG figures back
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "attnscope: this system has no apt; install these packages (or their equivalents) yourself:" >&2
  echo "  ${packages[*]}" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "attnscope: installing missing packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "attnscope: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
