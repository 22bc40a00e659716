#!/bin/sh
# Install a Debian package whose programs the tests run, when root can: usage
# `install-debian-package.sh PACKAGE WHAT-FOR` (the Makefile calls it only when the program
# is missing). Only the programs are wanted: the package's service must not start, now or at
# boot. policy-rc.d (101: action forbidden) is the Debian way to keep a package's postinst
# from starting its service (invoke-rc.d and deb-systemd-invoke honour it); ours is removed
# afterwards, and the unit the package enables (named after the package) is disabled again.
set -eu
package=$1
purpose=$2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "plinth: $purpose is missing and cannot be installed here (needs root and" \
        "apt-get): install the Debian package $package; the tests that use it fail" \
        "without it" >&2
    exit 0
fi
echo "plinth: installing $purpose (Debian package $package, its service left stopped)"
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
fi
install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package"
}
status=0
install >/dev/null || { apt-get update -q >/dev/null && install >/dev/null; } || status=$?
[ -n "$ours" ] && rm -f "$policy"
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --quiet "$package.service" >/dev/null 2>&1 || true
fi
exit "$status"
