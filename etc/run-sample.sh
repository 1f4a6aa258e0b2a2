#!/bin/sh
# `make run`: serve the sample lists from etc/dnsbl on 127.0.0.1 in the foreground.
# The data is copied to ./var/dnsbl, readable by the unprivileged user the
# server drops to (it refuses to keep running as root).
set -e
BIN=$1
PORT=${2:-5300}
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
  dig -p $PORT @127.0.0.1 5.2.0.192.ip4.dnsbl.example A
  dig -p $PORT @127.0.0.1 +tcp test.dbl.dnsbl.example ANY
Edit var/dnsbl/sample-ip4 and the server picks it up within 5 s (or kill -HUP).
Ctrl-C stops it.
MSG
exec "$BIN" -n $USER_OPT -c 5s -b 127.0.0.1/$PORT -w var/dnsbl \
    ip4.dnsbl.example:ip4set:sample-ip4 \
    ip6.dnsbl.example:ip6trie:sample-ip6 \
    dbl.dnsbl.example:dnset:sample-dn
