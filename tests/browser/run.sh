#!/usr/bin/env bash
# Browser tests of the console: headless Chromium (Debian's package) driven by Playwright for
# Python (from PyPI, in a venv under target/), against a real `jemput serve --demo` on a free
# port with a temporary SQLite file. Bounded: the whole run stops after five minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ]; then
    echo "needs Debian's chromium: apt-get install -y chromium" >&2
    exit 1
fi
venv=target/browser-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet playwright==1.65.2
fi
cargo build --quiet --bin jemput
timeout 300 "$venv/bin/python" tests/browser/console_test.py target/debug/jemput
