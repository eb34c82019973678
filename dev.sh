#!/usr/bin/env bash
# gridmap's two commands on a fresh Debian machine with Python 3.11:
#   ./dev.sh demo   set everything up, load the demo subdistrict, serve the map
#   ./dev.sh test   set everything up, run the whole test suite (what CI runs)
# Also: ./dev.sh setup (install only), ./dev.sh lint.
set -euo pipefail
cd "$(dirname "$0")"

VENV=${GRIDMAP_VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

postgis_package() {
  # the newest postgresql-NN-postgis-3 Debian offers (15 on bookworm)
  apt-cache search --names-only '^postgresql-[0-9]+-postgis-3$' 2>/dev/null \
    | awk '{print $1}' | sort -t- -k2 -n | tail -1
}

system_packages() {
  local want="libsqlite3-mod-spatialite gdal-bin chromium fonts-noto-cjk fonts-dejavu-core poppler-utils"
  local missing=""
  for p in $want; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    missing="$missing postgresql POSTGIS"
  fi
  [ -z "$missing" ] && return 0
  echo "==> installing Debian packages:$missing"
  as_root apt-get update -qq
  missing=${missing/POSTGIS/$(postgis_package)}
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

python_env() {
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local stamp="$VENV/.gridmap-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing Python packages into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    touch "$stamp"
  fi
}

setup() { system_packages; python_env; }

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  demo)  setup; exec "$VENV/bin/gridmap" demo "$@" ;;
  test)  setup; exec "$VENV/bin/python" -m pytest "$@" ;;
  lint)  python_env; "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check . ;;
  *) sed -n '2,6p' "$0"; exit 1 ;;
esac
