#!/bin/sh
# `make run`: serve the sample lists from etc/dnsbl on 127.0.0.1 in the foreground,
# with the control socket var/dnsbl.sock (for `rampart`) and Prometheus metrics.
# The data is copied to ./var/dnsbl, readable by the unprivileged user the
# server drops to (it refuses to keep running as root).
set -e
BIN=$1
PORT=${2:-5300}
METRICS=${METRICS:-127.0.0.1:9153}
CLI=$(dirname "$BIN")/rampart
mkdir -p var/dnsbl
cp etc/dnsbl/sample-* var/dnsbl/
chmod 0755 var var/dnsbl
chmod 0644 var/dnsbl/*
USER_OPT=
[ "$(id -u)" -eq 0 ] && USER_OPT="-u nobody"
cat <<MSG
rampart-dnsbl: serving on 127.0.0.1 port $PORT (UDP and TCP)
  zone ip4.dnsbl.example   IPv4 list   (var/dnsbl/sample-ip4)
  zone ip6.dnsbl.example   IPv6 list   (var/dnsbl/sample-ip6)
  zone dbl.dnsbl.example   domain list (var/dnsbl/sample-dn)
Try, from another terminal:
  dig -p $PORT @127.0.0.1 2.0.0.127.ip4.dnsbl.example TXT
  dig -p $PORT @127.0.0.1 +tcp test.dbl.dnsbl.example ANY
  $CLI dnsbl stats          # or: dnsbl zones, dnsbl reload, --json
  curl -s http://$METRICS/metrics
Edit var/dnsbl/sample-ip4 and the server picks it up within 5 s (or run dnsbl reload).
Ctrl-C stops it.
MSG
# Ctrl-C reaches the server, which stops; this script stays to remove the
# control socket, which the server (no longer root) may not remove from var/.
trap 'true' INT TERM
status=0
"$BIN" -n $USER_OPT -c 5s -b 127.0.0.1/$PORT -w var/dnsbl \
    --control var/dnsbl.sock --metrics "$METRICS" \
    ip4.dnsbl.example:ip4set:sample-ip4 \
    ip6.dnsbl.example:ip6trie:sample-ip6 \
    dbl.dnsbl.example:dnset:sample-dn || status=$?
[ -S var/dnsbl.sock ] && rm -f var/dnsbl.sock
exit $status
