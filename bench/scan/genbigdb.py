#!/usr/bin/python3
"""bench/scan/genbigdb.py - a large signature database for the scanning
benchmark: signatures that cost what real ones cost to load and to match
against, and that never fire (bench/scan/run.sh calls it; stdlib only,
deterministic from the seed).

    genbigdb.py --out DIR [--hashes 1000000] [--patterns 100000] [--seed S]

Writes, in ClamAV's formats:
  DIR/bench-big.hdb  --hashes lines "MD5:size:Rampart.Bench.Hash.NNNNNNN": a
                     random MD5 and a random size (64 B - 16 MiB, log-uniform)
  DIR/bench-big.ndb  --patterns lines "Rampart.Bench.Body.NNNNNN:0:*:HEX"
                     (target 0: any file; any offset). Each pattern is 16-32
                     random bytes; 25% also carry one to three "??" (any byte)
                     inside, 15% are split in two by a "{n-m}" gap (n 0-16,
                     m up to n+32), and 5% more have both. Every piece between
                     gaps is at least 8 fixed bytes, and no "??" sits in the
                     first three or last two bytes of a piece, so each piece
                     gives a matcher (ClamAV's Aho-Corasick trie, a Hyperscan
                     literal) a solid anchor, as real signatures do.

Why none of them fires on the corpus (bench/scan/gencorpus.py), or on any
mail not built to match: every hash is 128 random bits and every pattern
fixes at least 16 random bytes (128 bits); both come from this generator's
own seeded stream, independent of the corpus. A hash matches only an object
whose MD5 equals it (and whose size equals its size): with 10^6 hashes and
about 10^5 scanned objects (messages, parts, members) the expected number of
matches is under 10^11 / 2^128, about 3e-28. A pattern matches at a given
position with probability at most 2^-128 (wildcards add no fixed bytes; a gap
allows at most 33 placements of its second piece): with 10^5 patterns and
10^9 bytes looked at (decoded parts and members included) the expectation is
under 10^5 * 10^9 * 33 / 2^128, about 1e-23. The benchmark also checks it:
the large database must give exactly the small database's verdicts, and no
Rampart.Bench.* name may appear.
"""

import argparse
import os
import random


def piece(r, n, wild):
    """n random bytes as hex, with up to `wild` "??" inserted away from the ends."""
    hx = [f"{b:02x}" for b in r.randbytes(n)]
    if wild:
        spots = r.sample(range(3, n - 1), min(wild, n - 4))
        for at in sorted(spots, reverse=True):
            hx.insert(at, "??")
    return "".join(hx)


def pattern(r):
    n = r.randint(16, 32)
    kind = r.random()
    wild = r.randint(1, 3) if kind < 0.25 or kind >= 0.95 else 0
    if 0.80 <= kind:                                   # 15% a gap, 5% a gap and wildcards
        first = r.randint(8, n - 8)
        lo = r.randint(0, 16)
        hi = lo + r.randint(1, 32)
        w1 = r.randint(0, wild)
        return piece(r, first, w1) + "{%d-%d}" % (lo, hi) + piece(r, n - first, wild - w1)
    return piece(r, n, wild)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--hashes", type=int, default=1_000_000)
    ap.add_argument("--patterns", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20031)
    a = ap.parse_args()
    # A stream of its own: the corpus generator uses the same seed number.
    r = random.Random(f"bigdb-{a.seed}")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "bench-big.hdb"), "w") as f:
        for i in range(a.hashes):
            size = int(64 * 2 ** (18 * r.random()))      # 64 B - 16 MiB
            f.write(f"{r.getrandbits(128):032x}:{size}:Rampart.Bench.Hash.{i:07d}\n")
    with open(os.path.join(a.out, "bench-big.ndb"), "w") as f:
        for i in range(a.patterns):
            f.write(f"Rampart.Bench.Body.{i:06d}:0:*:{pattern(r)}\n")
    print(f"genbigdb: {a.hashes} hashes, {a.patterns} body patterns, seed {a.seed}")


if __name__ == "__main__":
    main()
