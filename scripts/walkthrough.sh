#!/usr/bin/env bash
# walkthrough.sh [OUTDIR] — the app as a user meets it: starts `attnscope gui` in a virtual X display (Xvfb),
# drives it with the keyboard through xdotool — every tab, the FlashAttention animation playing with the pointer
# still, the key list, larger text, a lesson step — and saves a screenshot after each step into OUTDIR (default
# walkthrough/ in the build folder). Look at the screenshots: that is what this script is for.
#
# It also checks what a screenshot can show: the app is still running after every step, no screenshot is blank,
# and two screenshots of the playing animation one second apart differ (frames come at display rate without input).
# Exit status: 0 all checks passed; 1 a check failed (named on stderr); 2 a tool is missing or the app would not start.
#
# Needs xvfb, xdotool and imagemagick (scripts/install-deps.sh --walkthrough installs them) and a GUI build
# (scripts/build.sh). Environment: ATTNSCOPE_BUILD_DIR (default build/), WALKTHROUGH_SIZE (default 1600x900).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ATTNSCOPE_BUILD_DIR:-$root/build}
bin=$build/app/attnscope
size=${WALKTHROUGH_SIZE:-1600x900}
out=${1:-$build/walkthrough}
[[ $size =~ ^[0-9]+x[0-9]+$ ]] || { echo "walkthrough: WALKTHROUGH_SIZE '$size' is not WxH" >&2; exit 2; }
for tool in Xvfb xdotool import compare; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "walkthrough: '$tool' is missing: run scripts/install-deps.sh --walkthrough" >&2
    exit 2
  }
done
[[ -x $bin ]] || { echo "walkthrough: no app at $bin: run scripts/build.sh (or set ATTNSCOPE_BUILD_DIR)" >&2; exit 2; }
mkdir -p "$out" || { echo "walkthrough: cannot create $out" >&2; exit 2; }
work=$(mktemp -d)
display=:$((90 + RANDOM % 100))
failures=0
app_pid=
xvfb_pid=

cleanup() {
  [[ -n $app_pid ]] && kill "$app_pid" 2>/dev/null
  [[ -n $xvfb_pid ]] && kill "$xvfb_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "walkthrough: FAIL: $*" >&2
  failures=$((failures + 1))
}

Xvfb "$display" -screen 0 "${size}x24" -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
export DISPLAY=$display
for _ in $(seq 50); do xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done
xdotool getdisplaygeometry >/dev/null 2>&1 || { echo "walkthrough: Xvfb did not start ($work/xvfb.log)" >&2; exit 2; }

XDG_CONFIG_HOME=$work/config "$bin" gui --size "$size" >"$out/app.log" 2>&1 &
app_pid=$!
if ! xdotool search --sync --onlyvisible --name attnscope >/dev/null 2>&1; then
  echo "walkthrough: the app opened no window (see $out/app.log)" >&2
  exit 2
fi
window=$(xdotool search --onlyvisible --name attnscope | head -1)
xdotool windowactivate --sync "$window" >/dev/null 2>&1 || xdotool windowfocus "$window"
sleep 3  # first pictures

# Keys are held for a quarter second: a tap shorter than one frame is lost when the app draws slowly (llvmpipe).
press() {  # press KEY [MODIFIER...]
  local key=$1
  shift
  for m in "$@"; do xdotool keydown "$m"; done
  xdotool keydown "$key"
  sleep 0.25
  xdotool keyup "$key"
  for m in "$@"; do xdotool keyup "$m"; done
}

shot() {  # shot NAME: screenshot, and the checks every step gets
  local file=$out/$1.png
  import -window root "$file" 2>>"$work/import.log" || fail "$1: screenshot failed"
  kill -0 "$app_pid" 2>/dev/null || fail "$1: the app is no longer running (see $out/app.log)"
  local spread
  spread=$(convert "$file" -colorspace Gray -format '%[fx:standard_deviation]' info: 2>/dev/null || echo 0)
  awk -v s="$spread" 'BEGIN { exit !(s > 0.01) }' || fail "$1: the screenshot is blank (grey spread $spread)"
  echo "  $file"
}

echo "walkthrough: screenshots in $out"
shot 01-explore
tabs=(flashattention sparsity scaling kv-cache lessons)
for i in "${!tabs[@]}"; do
  press Next ctrl  # Ctrl Page Down: the next tab
  sleep 4
  shot "0$((i + 2))-${tabs[$i]}"
  if [[ ${tabs[$i]} == flashattention ]]; then
    press space  # play; the pointer stays still from here on
    sleep 1
    shot 02b-flashattention-playing
    sleep 1
    shot 02c-flashattention-playing-later
    difference=$(compare -metric AE "$out/02b-flashattention-playing.png" "$out/02c-flashattention-playing-later.png" \
      null: 2>&1 >/dev/null | cut -d' ' -f1)
    [[ ${difference%.*} -gt 0 ]] 2>/dev/null ||
      fail "the FlashAttention animation did not move in one second without input (pixels changed: $difference)"
    press space  # pause
  fi
done
press space  # lessons: the next step
sleep 3
shot 07-lesson-next-step
press F1
sleep 1
shot 08-key-list
press Escape
press equal ctrl
press equal ctrl
sleep 2
shot 09-text-larger
press 0 ctrl
press Prior ctrl  # Ctrl Page Up: back to Scaling... then around to Explore
press Next ctrl
press Next ctrl
sleep 3
shot 10-explore-again

kill -TERM "$app_pid" 2>/dev/null
for _ in $(seq 50); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$app_pid" 2>/dev/null; then
  fail "the app did not exit within 5 s of SIGTERM"
else
  wait "$app_pid"
  status=$?
  [[ $status -eq 0 || $status -eq 143 ]] || fail "the app exited with status $status (see $out/app.log)"
fi
app_pid=
if [[ $failures -gt 0 ]]; then
  echo "walkthrough: $failures check(s) failed" >&2
  exit 1
fi
echo "walkthrough: every check passed; now look at the screenshots"
