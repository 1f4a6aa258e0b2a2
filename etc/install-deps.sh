#!/bin/sh
# Install the Debian packages named on the command line that are missing.
# Idempotent and quiet when everything is already there.
set -e
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
# Package daemons (nsd, knot, rbldnsd) must not start on install: tests and
# benchmarks start their own copies on loopback.
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    $SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    made_policy=1
fi
rc=0
$SUDO apt-get update -qq >/dev/null && \
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
[ -n "$made_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit $rc
