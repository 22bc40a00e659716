#!/bin/sh
# Install PostgreSQL (Debian package `postgresql`) for the MLflow contract test, when its
# server binaries (/usr/lib/postgresql/<major>/bin/initdb) are missing. The test runs its
# own throwaway server (initdb into a temporary directory); the package's service must not
# start, now or at boot. policy-rc.d (101: action forbidden) is the Debian way to keep a
# package's postinst from starting its service (invoke-rc.d and deb-systemd-invoke honour
# it); ours is removed afterwards, and the unit the package enables is disabled again.
set -eu
for initdb in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$initdb" ] && exit 0
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "plinth: PostgreSQL (initdb) not found and cannot install it here (needs root and" \
        "apt-get): install the Debian package postgresql; the MLflow contract test fails" \
        "without it" >&2
    exit 0
fi
echo "plinth: installing PostgreSQL (Debian package postgresql, its service left stopped)"
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
fi
install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
}
status=0
install >/dev/null || { apt-get update -q >/dev/null && install >/dev/null; } || status=$?
[ -n "$ours" ] && rm -f "$policy"
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --quiet postgresql.service >/dev/null 2>&1 || true
fi
exit "$status"
