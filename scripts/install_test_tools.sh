#!/usr/bin/env bash
# Programs the test suite runs besides Python: Tiled (its command line loads the .tsx/.tmx files
# that `manifold upscale` writes, as a user's editor would) and Lua 5.4 (the Aseprite extension).
# Installs what is missing with apt-get when run as root; otherwise says what to install.
# Tests that need a missing tool skip with a reason locally and fail under CI (CI=true).
set -euo pipefail

missing=()
command -v tiled >/dev/null 2>&1 || missing+=(tiled)
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install_test_tools: installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "install_test_tools: ${missing[*]} missing; install with: sudo apt-get install ${missing[*]}" \
         "(Debian/Ubuntu package names). Tests that need them skip locally and fail under CI." >&2
fi
