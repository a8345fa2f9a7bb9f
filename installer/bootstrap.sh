#!/usr/bin/env bash
# Set up a development copy of EV Battery Health Monitor and run it or its tests.
#
#   bash installer/bootstrap.sh demo   # install everything, open the demo recording
#   bash installer/bootstrap.sh test   # install everything, run linters and the test suite
#
# On Debian/Ubuntu it installs the system packages it needs (Qt's xcb libraries, python3-venv,
# the PostgreSQL server the tests start for themselves, Xvfb for screenshots) with apt-get,
# through sudo when not run as root. Python packages go into .venv in the checkout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
what="${1:-demo}"
shift || true

system_packages=(
    # Qt's xcb platform plugin and what it loads
    libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xfixes0
    libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0
)
if [ "$what" = test ]; then
    system_packages+=(postgresql postgresql-contrib xvfb)
fi

install_system_packages() {
    command -v dpkg-query >/dev/null || { echo "not Debian/Ubuntu: install Qt's xcb libraries and PostgreSQL yourself"; return; }
    local missing=()
    for p in "${system_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ! python3 -c "import venv, ensurepip" 2>/dev/null; then missing+=(python3-venv); fi
    [ ${#missing[@]} -eq 0 ] && return
    echo "installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_python_packages() {
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test,build]"
}

install_system_packages
install_python_packages

case "$what" in
    demo)
        exec .venv/bin/ev-battery-monitor --demo "$@"
        ;;
    test)
        .venv/bin/ruff format --check .
        .venv/bin/ruff check .
        .venv/bin/lint-imports --no-logo
        QT_QPA_PLATFORM=offscreen exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
        ;;
    *)
        echo "usage: bash installer/bootstrap.sh demo|test" >&2
        exit 2
        ;;
esac
