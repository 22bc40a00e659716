#!/bin/sh
# Install promtool (Debian package `prometheus`) for the alert rule tests, when it is missing.
# Only promtool is wanted: the package's Prometheus server must not start, now or at boot.
# policy-rc.d (101: action forbidden) is the Debian way to keep a package's postinst from
# starting its service (invoke-rc.d and deb-systemd-invoke honour it); ours is removed
# afterwards, and the unit the package enables is disabled again.
set -eu
command -v promtool >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "plinth: promtool not found and cannot install it here (needs root and apt-get):" \
        "install the Debian package prometheus, or put promtool on PATH;" \
        "the alert rule tests fail without it" >&2
    exit 0
fi
echo "plinth: installing promtool (Debian package prometheus, its server left stopped)"
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
fi
install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
}
status=0
install >/dev/null || { apt-get update -q >/dev/null && install >/dev/null; } || status=$?
[ -n "$ours" ] && rm -f "$policy"
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --quiet prometheus.service >/dev/null 2>&1 || true
fi
exit "$status"
