#!/usr/bin/env bash
# Installs a WebGPU adapter for machines without a GPU: Mesa 25's lavapipe (Vulkan on the CPU) from Debian's
# bookworm-backports, which Dawn (npm `webgpu`) finds by itself. Debian 12's own Mesa 22 gives Dawn no adapter.
# Idempotent: does nothing when lavapipe from backports is already installed. Runs apt through sudo unless root.
set -euo pipefail

have_backports_lavapipe() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [[ "$v" == *bpo* ]] && dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'install ok installed'
}

if have_backports_lavapipe; then
  echo "ci-webgpu-setup: lavapipe from bookworm-backports already installed"
  exit 0
fi

if [[ ! -r /etc/debian_version ]] || ! grep -q '^12' /etc/debian_version; then
  echo "ci-webgpu-setup: not Debian 12 (bookworm); install Mesa >= 25 lavapipe (mesa-vulkan-drivers) yourself" >&2
  exit 1
fi

SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
src=/etc/apt/sources.list.d/bookworm-backports.sources
if [[ ! -f "$src" ]]; then
  $SUDO tee "$src" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "ci-webgpu-setup: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
