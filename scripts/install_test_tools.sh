#!/usr/bin/env bash
# Programs the test suite runs besides Python: Tiled (its command line loads the .tsx/.tmx files
# that `manifold upscale` writes, as a user's editor would), Lua 5.4 (the Aseprite extension),
# and for `manifold eval`: xbrzscale (xBRZ) and the libraries Real-ESRGAN's ncnn wheel and the
# OpenCV it imports load (libomp5, libvulkan1, libgl1, libglib2.0-0; it runs on the CPU, no GPU
# driver needed).
# Installs what is missing with apt-get when run as root; otherwise says what to install.
# Tests that need a missing tool skip with a reason locally and fail under CI (CI=true).
set -euo pipefail

missing=()
command -v tiled >/dev/null 2>&1 || missing+=(tiled)
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
command -v xbrzscale >/dev/null 2>&1 || missing+=(xbrzscale)
for lib in libomp5 libvulkan1 libgl1 libglib2.0-0; do
    # a package is there when its library is (ldconfig knows it)
    case $lib in libomp5) so=libomp.so.5 ;; libvulkan1) so=libvulkan.so.1 ;; libgl1) so=libGL.so.1 ;;
                 libglib2.0-0) so=libglib-2.0.so.0 ;; esac
    ldconfig -p 2>/dev/null | grep "$so" >/dev/null || missing+=("$lib")
done
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
