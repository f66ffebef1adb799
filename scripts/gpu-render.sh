#!/usr/bin/env bash
# gpu-render.sh OUTDIR — builds the real GUI app with the CUDA backend on a GPU machine that has no GUI packages
# and no network (the lent Ubuntu 24.04 GPU machines), then draws the app headless through NVIDIA's EGL into PNGs
# computed by `--backend cuda`. Full log in OUTDIR/gpu-render.log; one line per render at the end.
#
# Needs, in the repo's git-ignored folder .gpu-gui/ (Debian 12 .debs fetched with `apt-get download`, see
# docs/design/gpu-app.md):
#   gl/        GL runtime (libegl1 libglvnd0 libopengl0 libgl1 libglx0): unpacked to / (`dpkg -x` + ldconfig),
#              the way the device README prescribes for headless EGL on NVIDIA
#   dev/       what building and linking the GUI needs (libimgui-dev, libstb-dev, libstb0, libglfw3(-dev), the X11
#              client libs libglfw3 links against, python3-glad, libegl-dev, libgl-dev, libglx-dev, libopengl-dev,
#              libpng-dev, libpng16-16, zlib1g-dev for the PNG writer):
#              unpacked into a private prefix ($GUI_PREFIX, default /tmp/guiprefix), never into /
#   fallback/  pkgconf and python3-jinja2, used only when the machine lacks pkg-config or jinja2
#   fonts/     fonts-dejavu-core: the app opens DejaVuSans.ttf, DejaVuSans-Bold.ttf and DejaVuSansMono.ttf
#              in /usr/share/fonts/truetype/dejavu by that path, and without them ImGui's built-in ASCII-only font draws every ×, √, ≤, ᵀ, − as '?'. When the
#              machine lacks them, only those three .ttf files are copied there (nothing else of the package).
#
# RENDERS (names, space-separated; default all) picks which renders to draw.
# Renders (each 1920x1080, --backend cuda; one failing does not stop the others):
#   a-explore.png    Explore, N = 16384, window:256+global:16, causal (the picture pooled on the GPU)
#   b-scaling.png    Scaling, default experiment (the N sweep run on the GPU)
#   c-flash.png      FlashAttention, N = 1024, causal (replays a GPU trace)
#   d-kvcache.png    KV cache (decode on the GPU)
#   e-oom-scaling.png  Scaling with N = 65536, 32 heads, fp16: the naive path runs out of device memory
#   e-oom-explore.png  Explore on the same experiment (whether the Explore view says anything about it)
#   f-sparsity.png   Sparsity, N = 4096, window:256+global:16, causal
#   g-timing-oom.png Scaling's Timing panel, N = 65536, 32 heads, fp16 (naive's out-of-memory answer in the table)
#   h-timing-tc.png  Scaling's Timing panel, N = 4096, 16 heads of 64, fp16, causal: naive fp16, flash fp32 (the
#                    fp32 teaching kernel, run at fp32 on the same values) and flash-tc fp16 side by side (issue 7)
#   i-flash-tc.png   FlashAttention replaying a flash-tc trace (Br 128 × Bc 64), N = 1024, fp16, causal, at 0.5
#   j-flash-tc-gathered.png  the same with strided:64 + a 128 window: a gathered schedule (visits = key blocks)
#   k-lesson4-first.png / k-lesson4-last.png  the FlashAttention lesson (assets/lessons/04-flashattention.json),
#                    first and last step, its placeholders filled from runs on the GPU
# Environment: ATTNSCOPE_BUILD_DIR (default build-gpugui), JOBS (default 16), CUDA_ARCH (default 90),
#   RENDER_BUDGET_S (seconds for all renders together, default 300).
set -uo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/gpu-render.sh OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1" || { echo "gpu-render: cannot create $1" >&2; exit 2; }
out=$(cd "$1" && pwd)
log=$out/gpu-render.log
debs=$root/.gpu-gui
prefix=${GUI_PREFIX:-/tmp/guiprefix}
build=${ATTNSCOPE_BUILD_DIR:-$root/build-gpugui}
jobs=${JOBS:-16}
arch=${CUDA_ARCH:-90}
budget=${RENDER_BUDGET_S:-300}
lib=$prefix/usr/lib/x86_64-linux-gnu
results=()

exec > >(tee -a "$log") 2>&1
say() { echo "== $*"; }

if [[ ! -d $debs/gl || ! -d $debs/dev ]]; then
  echo "gpu-render: $debs/gl and $debs/dev (the .debs) are missing; see docs/design/gpu-app.md" >&2
  exit 2
fi

# ---------------------------------------------------------------- 1. GL runtime to /, dev packages to the prefix
say "environment"
date -u +"%Y-%m-%dT%H:%M:%SZ"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
grep PRETTY_NAME /etc/os-release || true
cmake --version | head -1; g++ --version | head -1; nvcc --version | tail -2 | head -1; python3 --version

say "GL runtime .debs -> / (dpkg -x, ldconfig)"
for f in "$debs"/gl/*.deb; do dpkg -x "$f" / && echo "  $(basename "$f")"; done
ldconfig
say "dev .debs -> $prefix"
rm -rf "$prefix" && mkdir -p "$prefix/bin"
for f in "$debs"/dev/*.deb; do dpkg -x "$f" "$prefix" && echo "  $(basename "$f")"; done
# The .pc files name /usr: point them at the prefix.
sed -i "s|^prefix=/usr\$|prefix=$prefix/usr|" "$lib"/pkgconfig/*.pc
grep -H '^prefix=' "$lib"/pkgconfig/*.pc

pkg_config=$(command -v pkg-config || true)
if [[ -z $pkg_config ]]; then
  say "no pkg-config here: using pkgconf from fallback/"
  for f in "$debs"/fallback/pkgconf-bin_*.deb "$debs"/fallback/libpkgconf3_*.deb; do dpkg -x "$f" "$prefix"; done
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$lib" "$prefix/usr/bin/pkgconf" >"$prefix/bin/pkg-config"
  chmod +x "$prefix/bin/pkg-config"
  pkg_config=$prefix/bin/pkg-config
fi
export PKG_CONFIG_PATH=$lib/pkgconfig
echo "pkg-config: $pkg_config; imgui: $("$pkg_config" --cflags --libs imgui)"

font_dir=/usr/share/fonts/truetype/dejavu
if [[ ! -f $font_dir/DejaVuSans.ttf ]] && ls "$debs"/fonts/fonts-dejavu-core_*.deb >/dev/null 2>&1; then
  say "no DejaVu here: copying DejaVuSans.ttf, DejaVuSans-Bold.ttf and DejaVuSansMono.ttf from fonts/ to $font_dir"
  dpkg -x "$debs"/fonts/fonts-dejavu-core_*.deb "$prefix/fonts"
  mkdir -p "$font_dir" && for f in DejaVuSans.ttf DejaVuSans-Bold.ttf DejaVuSansMono.ttf; do
    cp -n "$prefix/fonts$font_dir/$f" "$font_dir"/
  done
fi
ls "$font_dir"/DejaVuSans*.ttf 2>/dev/null || echo "no DejaVu fonts: non-ASCII glyphs will draw as '?'"

python=$(command -v python3)
if ! "$python" -c "import jinja2" 2>/dev/null; then
  say "no jinja2 for $python: using python3-jinja2 / python3-markupsafe from fallback/"
  for f in "$debs"/fallback/python3-*.deb; do dpkg -x "$f" "$prefix"; done
fi
# glad as a program: the prefix's glad package run by this machine's python3.
printf '#!/bin/sh\nPYTHONPATH=%s${PYTHONPATH:+:$PYTHONPATH} exec %s -m glad "$@"\n' \
  "$prefix/usr/lib/python3/dist-packages" "$python" >"$prefix/bin/glad"
chmod +x "$prefix/bin/glad"
"$prefix/bin/glad" --help >/dev/null && echo "glad runs ($prefix/bin/glad)"

# ---------------------------------------------------------------- 2. configure + build (GUI + CUDA)
say "configure"
start=$SECONDS
# libglfw.so.3 needs libX11 etc. (in the prefix): -rpath-link lets the linker find them; LD_LIBRARY_PATH lets
# the app load them.
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_GUI=ON -DATTNSCOPE_CUDA=ON \
  -DATTNSCOPE_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES="$arch" -DCMAKE_PREFIX_PATH="$prefix/usr" \
  -DPKG_CONFIG_EXECUTABLE="$pkg_config" -DGLAD_EXECUTABLE="$prefix/bin/glad" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$lib" || { echo "gpu-render: configure failed"; exit 1; }
say "build (-j$jobs)"
cmake --build "$build" --parallel "$jobs" --target attnscope || { echo "gpu-render: build failed"; exit 1; }
echo "configure + build: $((SECONDS - start)) s"
bin=$build/app/attnscope
ldd "$bin" | grep -E 'not found|glfw|X11|stb|cuda' || true

# ---------------------------------------------------------------- 3. EGL on NVIDIA, devices, renders
if ! ls /usr/share/glvnd/egl_vendor.d/*nvidia* >/dev/null 2>&1 &&
   [[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
echo "__EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-(unset)}"
ldconfig -p | grep -E 'libEGL(_nvidia)?\.so|libcuda\.so' | head -6

say "attnscope devices"
"$bin" devices || echo "(devices exited $?)"

render_start=$SECONDS
# render NAME ARGS...: one PNG, time-limited by what is left of the budget (at most 150 s each).
render() {
  local name=$1
  shift
  if [[ -n ${RENDERS:-} && " $RENDERS " != *" $name "* ]]; then return; fi
  local left=$((budget - (SECONDS - render_start)))
  local limit=$((left < 150 ? left : 150))
  if ((limit < 15)); then
    results+=("$(printf '%-18s %s' "$name" "NOT RUN (render budget of ${budget}s spent)")")
    return
  fi
  say "render $name: attnscope render --backend cuda --size 1920x1080 $* (limit ${limit}s)"
  local t0=$SECONDS
  timeout --kill-after=5 "$limit" "$bin" render --backend cuda --size 1920x1080 --timeout $((limit - 5)) \
    --out "$out/$name.png" "$@"
  local rc=$?
  local outcome="ok"
  [[ $rc -ne 0 ]] && outcome="FAIL (exit $rc)"
  [[ $rc -eq 124 || $rc -eq 137 ]] && outcome="TIMEOUT (${limit}s)"
  results+=("$(printf '%-18s %-16s %4ss  %s' "$name" "$outcome" "$((SECONDS - t0))" "$*")")
}
render a-explore --mode Explore --n 16384 --mask window:256+global:16 --causal
render c-flash --mode FlashAttention --n 1024 --mask causal
render d-kvcache --mode "KV cache"
render b-scaling --mode Scaling
render e-oom-scaling --mode Scaling --n 65536 --heads 32 --dtype fp16
render e-oom-explore --mode Explore --n 65536 --heads 32 --dtype fp16
render f-sparsity --mode Sparsity --n 4096 --mask window:256+global:16 --causal
render g-timing-oom --mode Scaling --panel Timing --n 65536 --heads 32 --dtype fp16
render h-timing-tc --mode Scaling --panel Timing --n 4096 --heads 16 --d 64 --dtype fp16 --causal
render i-flash-tc --mode FlashAttention --flash-view order=flash-tc,at=0.5 --n 1024 --d 64 --dtype fp16 \
  --mask causal
render j-flash-tc-gathered --mode FlashAttention --flash-view order=flash-tc,at=0.5 --n 2048 --d 64 \
  --dtype fp16 --mask strided:64+window:128 --causal
lesson4=assets/lessons/04-flashattention.json
lesson4_steps=$(grep -c '"narration"' "$root/$lesson4")
render k-lesson4-first --lesson "$root/$lesson4" --step 1
render k-lesson4-last --lesson "$root/$lesson4" --step "$lesson4_steps"

echo
say "summary"
printf '%s\n' "${results[@]}"
