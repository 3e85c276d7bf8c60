#!/usr/bin/env bash
# Build, once per machine, the minimal Debian root that `make integration-os` upgrades for real.
# Usage: build-root.sh CACHE_DIR
# The root is a debootstrap (minbase + python3-apt) of this machine's own release from the mirror this machine's
# apt uses, with apt lists of the release suite only; then the release's -updates and -security suites are added
# to its sources (without refreshing the lists), so upgrades are pending and only a run that refreshes the lists
# sees them. CACHE_DIR/root is never changed after the build: every test run works on a copy of it.
# CACHE_DIR/STAMP names the release, the mirrors and the build date; a root whose stamp names this release is reused.
set -euo pipefail
cache=$1
# shellcheck disable=SC1091 # the machine's own file
. /etc/os-release
release=${VERSION_CODENAME:?this machine does not say its Debian release in /etc/os-release}
[ "${ID:-}" = debian ] || { echo "integration-os needs a Debian machine; this one is ${ID:-unknown}" >&2; exit 1; }
if [ -f "$cache/STAMP" ] && grep -qx "release=$release" "$cache/STAMP" && [ -x "$cache/root/usr/bin/python3" ]; then
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "building the Debian root needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
# The mirrors this machine's apt uses, as apt itself reports them (the machine's sources may be one-line or deb822).
mirror_of() {
  apt-cache policy | awk -v suite="$1/main" '$3 == suite && $2 ~ /^https?:/ { print $2; exit }'
}
mirror=$(mirror_of "$release")
security=$(mirror_of "$release-security")
[ -n "$mirror" ] || { apt-get update -qq; mirror=$(mirror_of "$release"); security=$(mirror_of "$release-security"); }
[ -n "$mirror" ] || { echo "no apt source of $release/main on this machine: cannot tell which Debian mirror to use" >&2; exit 1; }
started=$SECONDS
rm -rf "$cache/root.new"
mkdir -p "$cache"
debootstrap --variant=minbase --include=python3,python3-apt "$release" "$cache/root.new" "$mirror" >"$cache/debootstrap.log" 2>&1 \
  || { tail -n 20 "$cache/debootstrap.log" >&2; echo "debootstrap failed (full log: $cache/debootstrap.log)" >&2; exit 1; }
root=$cache/root.new
# No daemon may start inside the chroot, as in any Debian build root.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
echo "deb $mirror $release main" >"$root/etc/apt/sources.list"
chroot "$root" apt-get update -qq
# Lists of the release suite only, freshly stamped; now the suites whose packages are newer.
echo "deb $mirror $release-updates main" >>"$root/etc/apt/sources.list"
[ -z "$security" ] || echo "deb $security $release-security main" >>"$root/etc/apt/sources.list"
chroot "$root" apt-get clean
rm -rf "$cache/root"
mv "$root" "$cache/root"
printf 'release=%s\nmirror=%s\nsecurity=%s\nbuilt=%s\nseconds=%s\nsize=%s\n' "$release" "$mirror" "${security:-none}" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((SECONDS - started))" "$(du -sh "$cache/root" | cut -f1)" >"$cache/STAMP"
cat "$cache/STAMP"
