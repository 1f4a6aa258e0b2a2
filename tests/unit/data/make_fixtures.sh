#!/bin/sh
# Regenerates the test archives for tests/unit/test_zipx.c. Not run by the
# build: the archives are committed. Needs Debian's arj and p7zip-full.
#
#   zipx-methods.arj  one file per ARJ method (m0.txt stored, m1..m4.txt:
#                     prefixes of the text, 2000 to 40000 bytes), and g.txt
#                     garbled (encrypted) with method 1
#   zipx-long.d64.zip the text (124000 bytes) as one Deflate64 member
#                     (7-Zip), with matches farther back than 32 KiB (7-Zip
#                     sends no match longer than 257: test_zipx builds those)
#
# The text is fixture_text() of test_zipx.c, written here by the same
# recipe (gen_text below); test_zipx regenerates it to compare.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen_text() { # gen_text BYTES FILE
    python3 - "$1" "$2" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
words = [b"mimail", b"worm", b"zip", b"admin", b"password", b"your", b"account", b"expires",
         b"message", b"attached", b"the", b"of", b"please", b"read", b"\r\n", b"  "]
a = bytearray()
seed = 1
while len(a) < 30000:
    seed = (seed * 1103515245 + 12345) & 0xffffffff
    a += words[(seed >> 16) % 16] + bytes([97 + (seed >> 8) % 26])
a = a[:30000]
text = a + b"Z" * 10000 + a[:20000] + b"Y" * 60000 + a[5000:9000]
open(path, "wb").write(text[:n])
PY
}

cd "$tmp"
gen_text 2000 m0.txt
gen_text 40000 m1.txt
gen_text 8000 m2.txt
gen_text 8000 m3.txt
gen_text 40000 m4.txt
gen_text 2000 g.txt
arj a -m0 -y t.arj m0.txt >/dev/null
for m in 1 2 3 4; do arj a -m$m -y t.arj m$m.txt >/dev/null; done
arj a -m1 -gsecret -y t.arj g.txt >/dev/null
cp t.arj "$here/zipx-methods.arj"
gen_text 124000 long.txt
7z a -tzip -mm=Deflate64 -mx=9 long.zip long.txt >/dev/null
cp long.zip "$here/zipx-long.d64.zip"
ls -l "$here"/zipx-*
