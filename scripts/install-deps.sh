#!/usr/bin/env bash
# Install what the recorder and its tests need on a fresh Debian/Ubuntu machine:
# system packages with apt-get, then the project and its test extras with pip.
#   scripts/install-deps.sh          runtime only (tmux, git, the package)
#   scripts/install-deps.sh demo     also Hugging Face datasets, to load the demo's export
#   scripts/install-deps.sh test     also zsh, vim, shellcheck, Xvfb, a JRE (for Spark) and the
#                                    test extras
set -euo pipefail
cd "$(dirname "$0")/.."

want=(tmux git)
extra="."
case "${1:-}" in
  demo) extra=".[demo]" ;;
  test) want+=(zsh vim shellcheck xvfb default-jre-headless); extra=".[test]" ;;
esac

missing=()
for pkg in "${want[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e "$extra"
