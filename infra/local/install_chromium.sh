#!/usr/bin/env bash
# Installs the system chromium the browser tests drive (tests/browser), when it is missing. Called by `make test`.
# Debian's package, through apt-get: as root directly, otherwise through sudo when it needs no password.
# Never fails the build by itself: when it cannot install, it says why, and the browser tests then fail
# (make test sets ORDERTRAIL_REQUIRE_BROWSER=1) or skip (a plain pytest run) with that reason.
set -uo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: chromium is missing and there is no apt-get here; install chromium yourself for the browser tests" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    run=()  # empty: run apt-get directly
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=(sudo -n)
else
    echo "install_chromium: chromium is missing and installing it needs root (not root, no password-less sudo);" \
        "run: sudo apt-get install chromium" >&2
    exit 0
fi
echo "install_chromium: installing chromium with apt-get (about a minute)" >&2
if ${run[@]+"${run[@]}"} apt-get update -qq \
    && ${run[@]+"${run[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    echo "install_chromium: $(chromium --version 2>/dev/null || echo 'chromium installed')" >&2
else
    echo "install_chromium: apt-get could not install chromium (see above)" >&2
fi
exit 0
