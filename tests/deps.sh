#!/bin/sh
# Install the Debian 12 packages that building and testing need.
# As root: installs them with apt-get.  Otherwise: prints the exact command.
# (systemd: systemd-analyze, -sysusers, -tmpfiles for tests/cli/test_systemd_unit.sh;
# openssl and python3-yaml: independent checks in the config-gen and migration
# tests; fusefat, exfat-fuse, dosfstools, exfatprogs and strace: FAT and exFAT
# images mounted through FUSE and a stick "pulled" mid-write, in
# tests/cli/test_fat.sh and test_faults.sh.  Building the Debian packages, `make deb`, needs dpkg-dev and
# debhelper besides; make check does not.)
set -eu
PKGS="build-essential pkg-config clang clang-format libssl-dev libsodium-dev libyaml-dev
libqrencode-dev libzbar-dev libcmocka-dev zlib1g-dev libpng-dev tor python3 python3-stem
python3-cryptography python3-pil curl binutils groff-base onionbalance faketime
python3-yaml openssl systemd fusefat exfat-fuse dosfstools exfatprogs strace"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing:$missing"
    echo "deps: run as root:  apt-get update && apt-get install -y$missing"
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends $missing
