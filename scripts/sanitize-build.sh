#!/usr/bin/env bash
# sanitize-build.sh SOURCE_DIR BUILD_DIR [LAUNCHER] — configures (once) and builds, incrementally, the clang build that
# ctest's sanitizer and fuzz tests run from: core, the command-line binary, the app models and their test suites
# (core, cli, app_models) plus the libFuzzer targets, all compiled once with AddressSanitizer +
# UndefinedBehaviorSanitizer (-DATTNSCOPE_FUZZ=ON implies ATTNSCOPE_SANITIZE=address,undefined). No GL, no CUDA.
# LAUNCHER: the compiler launcher of the main build (ccache), passed on; empty for none.
set -euo pipefail
source_dir=$1
build_dir=$2
launcher=${3:-}
clangxx=$(command -v clang++ || true)
clang=$(command -v clang || true)
if [[ -z $clangxx || -z $clang ]]; then
  echo "sanitizer tests: clang/clang++ not found; install clang and libclang-rt-14-dev (scripts/install-deps.sh does)," \
       "or configure with -DATTNSCOPE_SANITIZER_TESTS=OFF" >&2
  exit 1
fi
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  launch=()
  [[ -n $launcher ]] && launch=(-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher" -DCMAKE_C_COMPILER_LAUNCHER="$launcher")
  # -O0 with line tables: the build is most of these tests' time and -O0 compiles fastest; reports keep file:line
  # stacks.
  cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" "${launch[@]}" \
    -DCMAKE_C_COMPILER="$clang" -DCMAKE_CXX_COMPILER="$clangxx" \
    -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="-O0 -gline-tables-only" -DCMAKE_C_FLAGS_SANITIZE="-O0 -gline-tables-only" \
    -DATTNSCOPE_GUI=OFF -DATTNSCOPE_CUDA=OFF -DATTNSCOPE_TESTS=ON -DATTNSCOPE_FUZZ=ON \
    -DATTNSCOPE_SANITIZER_TESTS=OFF >/dev/null
fi
cmake --build "$build_dir" --parallel "$(nproc 2>/dev/null || echo 2)" --target \
  attnscope attnscope_core_tests attnscope_cli_tests attnscope_app_model_tests fuzz_npy fuzz_mask fuzz_json_files
