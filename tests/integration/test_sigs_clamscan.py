"""Differential test: the signature database (src/scan/sigs.c) against clamscan.

The same .ndb, .hdb and .hsb files, generated here from the bytes of the files
they are matched on, go to clamscan (--allmatch, only these databases) and to
the sigmatch driver (tests/unit/sigmatch.c); the two must report the same
(file, name) pairs.  Every hex-signature feature and every offset form has a
signature that should hit and a near miss that should not: literal bytes,
??, a? and ?a nibbles, *, {n}, {-n}, {n-}, {n-m}, single-byte, multi-byte and
generic alternatives, their negations, [n-m], (W); offsets n, n,MaxShift,
EOF-n, EP+n, EP-n, Sx+n, SL+n, SEx; targets 0, 1, 6 and 7 (normalised text);
MD5, SHA-1 and SHA-256 hashes with a size, a wrong size and "*".

Files: only raw ones, since unpacking is another module's job and clamscan
would also match inside what it unpacks: clam.exe from clamav-testfiles (a
raw PE), PE files built here (four sections, the entry point in the third),
a text file and random bytes.

Environment:
  RAMPART_BUILD   build directory holding sigmatch (default: build/)

Run:  /usr/bin/python3 -m pytest -q tests/integration/test_sigs_clamscan.py
"""

import hashlib
import os
import random
import shutil
import struct
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(ROOT, "build"))
SIGMATCH = os.path.join(BUILD, "sigmatch")
CLAMSCAN = shutil.which("clamscan")
CLAM_EXE = "/usr/share/clamav-testfiles/clam.exe"

pytestmark = [
    pytest.mark.skipif(not CLAMSCAN, reason="clamscan not installed"),
    pytest.mark.skipif(not os.path.exists(SIGMATCH), reason="sigmatch not built"),
]


def make_pe(seed, nsec=4, ep_sec=2, ep_off=0x30, falign=0x200, salign=0x1000):
    """A PE32 file: headers in 0x400 bytes, nsec sections of falign random
    bytes each, the entry point ep_off into section ep_sec."""
    rnd = random.Random(seed)
    raw0 = 0x400
    b = bytearray(rnd.randrange(256) for _ in range(raw0 + nsec * falign))
    b[0:raw0] = bytes(raw0)
    b[0:2] = b"MZ"
    struct.pack_into("<I", b, 0x3C, 0x80)
    b[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", b, 0x84, 0x14C, nsec, 0, 0, 0, 0xE0, 0x102)
    opt = 0x98
    struct.pack_into("<H", b, opt, 0x10B)
    struct.pack_into("<I", b, opt + 16, salign * (ep_sec + 1) + ep_off)
    struct.pack_into("<I", b, opt + 28, 0x400000)
    struct.pack_into("<II", b, opt + 32, salign, falign)
    struct.pack_into("<HH", b, opt + 40, 4, 0)
    struct.pack_into("<HH", b, opt + 48, 4, 0)
    struct.pack_into("<I", b, opt + 56, salign * (nsec + 1))
    struct.pack_into("<I", b, opt + 60, raw0)
    struct.pack_into("<H", b, opt + 68, 2)
    struct.pack_into("<I", b, opt + 92, 16)
    for i in range(nsec):
        struct.pack_into("<8sIIII12xI", b, opt + 0xE0 + 40 * i, b".s%d" % i, falign,
                         salign * (i + 1), falign, raw0 + falign * i, 0x60000020)
    sections = [(raw0 + falign * i, falign) for i in range(nsec)]
    return bytes(b), raw0 + falign * ep_sec + ep_off, sections


def h(data, i, n):
    return data[i:i + n].hex()


def flip(hexstr):
    """The same hex with its last byte changed: a near miss."""
    return hexstr[:-2] + "%02x" % (int(hexstr[-2:], 16) ^ 0xFF)


def body_sigs(tag, data, a, target=0):
    """Signatures of every hex feature around position a of data, each with a
    near miss; (name, line) pairs."""
    b2 = data[a + 2]
    other2 = "%04x" % (int(h(data, a + 2, 2), 16) ^ 0x0101)
    out = []

    def add(feature, pos, neg, offset="*"):
        out.append(("%s.%s.Pos" % (tag, feature), "%s.%s.Pos:%d:%s:%s" % (tag, feature, target, offset, pos)))
        out.append(("%s.%s.Neg" % (tag, feature), "%s.%s.Neg:%d:%s:%s" % (tag, feature, target, offset, neg)))

    add("Literal", h(data, a, 8), flip(h(data, a, 8)))
    add("AnyByte", h(data, a, 2) + "??" + h(data, a + 3, 4), h(data, a, 2) + "??" + flip(h(data, a + 3, 4)))
    add("HighNibble", h(data, a, 2) + "%x?" % (b2 >> 4) + h(data, a + 3, 3),
        h(data, a, 2) + "%x?" % ((b2 >> 4) ^ 1) + h(data, a + 3, 3))
    add("LowNibble", h(data, a, 2) + "?%x" % (b2 & 15) + h(data, a + 3, 3),
        h(data, a, 2) + "?%x" % ((b2 & 15) ^ 1) + h(data, a + 3, 3))
    add("Star", h(data, a, 3) + "*" + h(data, a + 40, 3), h(data, a + 40, 3) + "*" + h(data, a, 3))
    add("Exactly", h(data, a, 3) + "{5}" + h(data, a + 8, 3), h(data, a, 3) + "{6}" + h(data, a + 8, 3))
    add("UpTo", h(data, a, 3) + "{-6}" + h(data, a + 8, 3), h(data, a, 3) + "{-4}" + h(data, a + 8, 3))
    add("AtLeast", h(data, a, 3) + "{4-}" + h(data, a + 8, 3), h(data, a, 3) + "{6-}" + h(data, a + 8, 3))
    add("Between", h(data, a, 3) + "{3-7}" + h(data, a + 8, 3), h(data, a, 3) + "{6-9}" + h(data, a + 8, 3))
    add("Alt", h(data, a, 2) + "(%02x|%02x)" % (b2, b2 ^ 0x55) + h(data, a + 3, 3),
        h(data, a, 2) + "(%02x|%02x)" % (b2 ^ 1, b2 ^ 0x55) + h(data, a + 3, 3))
    add("NotAlt", h(data, a, 2) + "!(%02x|%02x)" % (b2 ^ 1, b2 ^ 2) + h(data, a + 3, 3),
        h(data, a, 2) + "!(%02x|%02x)" % (b2, b2 ^ 2) + h(data, a + 3, 3))
    add("AltMulti", h(data, a, 2) + "(%s|%s)" % (h(data, a + 2, 2), other2) + h(data, a + 4, 3),
        h(data, a, 2) + "(%s|%s)" % (other2, flip(other2)) + h(data, a + 4, 3))
    add("NotAltMulti", h(data, a, 2) + "!(%s|%s)" % (other2, flip(other2)) + h(data, a + 4, 3),
        h(data, a, 2) + "!(%s|%s)" % (h(data, a + 2, 2), other2) + h(data, a + 4, 3))
    add("AltGeneric", h(data, a, 2) + "(%s??|%s)" % (h(data, a + 2, 1), other2[:2]) + h(data, a + 4, 3),
        h(data, a, 2) + "(%s??|%s)" % (other2[:2], other2[2:]) + h(data, a + 4, 3))
    # the near miss's right side is one byte longer: clamscan 1.4 keeps the
    # [n-m] byte on the pattern it anchors to, so two signatures sharing that
    # pattern with different ranges report each other's matches (or none,
    # depending on their order in the file)
    add("Bracket", h(data, a, 1) + "[1-3]" + h(data, a + 3, 4), h(data, a, 1) + "[3-5]" + h(data, a + 3, 5))
    # (W): around a byte that is no letter or digit
    w = next((j for j in range(a + 4, len(data) - 4) if not chr(data[j]).isalnum() and data[j] < 0x80
              and all(chr(c).isalnum() for c in data[j + 1:j + 2])), None)
    if w is not None:
        add("NonAlnum", h(data, w - 3, 3) + "(W)" + h(data, w + 1, 3), h(data, w - 3, 3) + "(W)" + flip(h(data, w + 1, 3)))
    return out


def offset_sigs(tag, data, a, target=0):
    """Absolute, floating and EOF offsets for the bytes at a."""
    lit = h(data, a, 6)
    n = len(data)
    return [
        ("%s.Abs.Pos" % tag, "%s.Abs.Pos:%d:%d:%s" % (tag, target, a, lit)),
        ("%s.Abs.Neg" % tag, "%s.Abs.Neg:%d:%d:%s" % (tag, target, a + 1, lit)),
        ("%s.Float.Pos" % tag, "%s.Float.Pos:%d:%d,3:%s" % (tag, target, a - 3, lit)),
        ("%s.Float.Neg" % tag, "%s.Float.Neg:%d:%d,2:%s" % (tag, target, a - 3, lit)),
        ("%s.Eof.Pos" % tag, "%s.Eof.Pos:%d:EOF-%d:%s" % (tag, target, n - a, lit)),
        ("%s.Eof.Neg" % tag, "%s.Eof.Neg:%d:EOF-%d:%s" % (tag, target, n - a - 1, lit)),
        ("%s.EofFloat.Pos" % tag, "%s.EofFloat.Pos:%d:EOF-%d,4:%s" % (tag, target, n - a + 4, lit)),
        ("%s.AbsStar.Pos" % tag, "%s.AbsStar.Pos:%d:%d:%s*%s" % (tag, target, a, h(data, a, 3), h(data, a + 30, 3))),
        ("%s.AbsStar.Neg" % tag, "%s.AbsStar.Neg:%d:%d:%s*%s" % (tag, target, a + 1, h(data, a, 3), h(data, a + 30, 3))),
    ]


def pe_sigs(tag, data, ep, sections):
    """Entry point and section offsets (target 1), and a target mismatch."""
    raw_last = sections[-1][0]
    out = [
        ("%s.EP.Pos" % tag, "%s.EP.Pos:1:EP+0:%s" % (tag, h(data, ep, 6))),
        ("%s.EP.Neg" % tag, "%s.EP.Neg:1:EP+1:%s" % (tag, h(data, ep, 6))),
        ("%s.EPPlus.Pos" % tag, "%s.EPPlus.Pos:1:EP+5:%s" % (tag, h(data, ep + 5, 5))),
        ("%s.EPMinus.Pos" % tag, "%s.EPMinus.Pos:1:EP-16:%s" % (tag, h(data, ep - 16, 5))),
        ("%s.EPMinus.Neg" % tag, "%s.EPMinus.Neg:1:EP-15:%s" % (tag, h(data, ep - 16, 5))),
        ("%s.EPFloat.Pos" % tag, "%s.EPFloat.Pos:1:EP+0,4:%s" % (tag, h(data, ep + 3, 5))),
        ("%s.EPFloat.Neg" % tag, "%s.EPFloat.Neg:1:EP+0,2:%s" % (tag, h(data, ep + 3, 5))),
        ("%s.EPStar.Pos" % tag, "%s.EPStar.Pos:1:EP+0:%s*%s" % (tag, h(data, ep, 3), h(data, ep + 20, 3))),
        ("%s.EPGap.Pos" % tag, "%s.EPGap.Pos:1:EP+0:%s{2-4}%s" % (tag, h(data, ep, 3), h(data, ep + 6, 3))),
        ("%s.EPGap.Neg" % tag, "%s.EPGap.Neg:1:EP+0:%s{4-6}%s" % (tag, h(data, ep, 3), h(data, ep + 6, 3))),
        ("%s.SL.Pos" % tag, "%s.SL.Pos:1:SL+8:%s" % (tag, h(data, raw_last + 8, 5))),
        ("%s.SL.Neg" % tag, "%s.SL.Neg:1:SL+9:%s" % (tag, h(data, raw_last + 8, 5))),
        ("%s.Elf.Neg" % tag, "%s.Elf.Neg:6:*:%s" % (tag, h(data, ep, 6))),
        ("%s.Any.Pos" % tag, "%s.Any.Pos:0:*:%s" % (tag, h(data, ep, 6))),
    ]
    for i, (raw, size) in enumerate(sections):
        if raw + 24 > len(data):
            continue
        out.append(("%s.S%d.Pos" % (tag, i), "%s.S%d.Pos:1:S%d+4:%s" % (tag, i, i, h(data, raw + 4, 5))))
        out.append(("%s.S%d.Neg" % (tag, i), "%s.S%d.Neg:1:S%d+5:%s" % (tag, i, i, h(data, raw + 4, 5))))
        inside = raw + min(size, len(data) - raw) // 2
        out.append(("%s.SE%d.Pos" % (tag, i), "%s.SE%d.Pos:1:SE%d:%s" % (tag, i, i, h(data, inside, 6))))
        if i + 1 < len(sections):
            out.append(("%s.SE%d.Neg" % (tag, i), "%s.SE%d.Neg:1:SE%d:%s" % (tag, i, i + 1, h(data, inside, 6))))
    return out


def hash_sigs(tag, data):
    md5 = hashlib.md5(data).hexdigest()
    sha1 = hashlib.sha1(data).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    n = len(data)
    hdb = [
        ("%s.Md5.Pos" % tag, "%s:%d:%s.Md5.Pos" % (md5, n, tag)),
        ("%s.Md5.Neg" % tag, "%s:%d:%s.Md5.Neg" % (md5, n + 1, tag)),
        ("%s.Md5Any.Pos" % tag, "%s:*:%s.Md5Any.Pos:73" % (md5, tag)),
    ]
    hsb = [
        ("%s.Sha1.Pos" % tag, "%s:%d:%s.Sha1.Pos" % (sha1, n, tag)),
        ("%s.Sha256.Pos" % tag, "%s:%d:%s.Sha256.Pos" % (sha256, n, tag)),
        ("%s.Sha256.Neg" % tag, "%s:%d:%s.Sha256.Neg" % (flip(sha256), n, tag)),
        ("%s.Sha256Any.Pos" % tag, "%s:*:%s.Sha256Any.Pos:73" % (sha256, tag)),
    ]
    return hdb, hsb


def normalise(text):
    """ClamAV's text normalisation: lowercase, whitespace runs as one space,
    other control bytes and bytes >= 0x80 dropped."""
    out = bytearray()
    for c in text:
        if c in b" \t\n\v\f\r":
            if not out or out[-1] != 0x20:
                out.append(0x20)
        elif 0x20 < c < 0x80:
            out.append(c + 32 if 0x41 <= c <= 0x5A else c)
    return bytes(out)


def found(output, files):
    """{(file basename, name)} from clamscan-style lines "path: NAME FOUND"."""
    hits = set()
    for line in output.splitlines():
        if not line.endswith(" FOUND"):
            continue
        path, _, name = line[:-len(" FOUND")].partition(": ")
        if path in files:
            hits.add((os.path.basename(path), name))
    return hits


def test_same_hits_as_clamscan(tmp_path):
    files = {}
    ndb, hdb, hsb = [], [], []
    rnd = random.Random(20031)

    pes = []
    if os.path.exists(CLAM_EXE):
        with open(CLAM_EXE, "rb") as f:
            clam = f.read()
        # clamscan's view of clam.exe: entry point at 0x40, one section whose
        # raw offset 1 is aligned down to 0
        pes.append(("ClamExe", "clam.exe", clam, 0x40, [(0, 0x200)]))
    for seed in (1, 2):
        data, ep, sections = make_pe(seed)
        pes.append(("Pe%d" % seed, "built%d.exe" % seed, data, ep, sections))
    for tag, fname, data, ep, sections in pes:
        files[fname] = data
        ndb += pe_sigs(tag, data, ep, sections)
        ndb += body_sigs(tag + ".Body", data, ep + 8, target=1)
        ndb += offset_sigs(tag + ".Off", data, ep + 24)
        hd, hs = hash_sigs(tag, data)
        hdb += hd
        hsb += hs

    blob = bytes(rnd.randrange(256) for _ in range(3000))
    files["random.bin"] = blob
    ndb += body_sigs("Bin", blob, 1000)
    ndb += offset_sigs("Bin.Off", blob, 2000)
    hd, hs = hash_sigs("Bin", blob)
    hdb += hd
    hsb += hs

    text = ("Dear Customer,\n\nYour ACCOUNT   has been\tSUSPENDED.  Please VERIFY your\r\n"
            "details at the link below within 24 hours or it will be Closed.\n" * 3).encode()
    files["mail.txt"] = text
    norm = b"your account has been suspended. please verify your"
    ndb += [
        ("Txt.Norm7.Pos", "Txt.Norm7.Pos:7:*:%s" % norm.hex()),
        ("Txt.Norm0.Pos", "Txt.Norm0.Pos:0:*:%s" % norm.hex()),
        ("Txt.Raw7.Neg", "Txt.Raw7.Neg:7:*:%s" % b"ACCOUNT   has".hex()),
        ("Txt.Raw0.Pos", "Txt.Raw0.Pos:0:*:%s" % b"ACCOUNT   has".hex()),
        ("Txt.Norm7Star.Pos", "Txt.Norm7Star.Pos:7:*:%s*%s" % (b"dear customer".hex(), b"be closed".hex())),
        ("Txt.Pe.Neg", "Txt.Pe.Neg:1:*:%s" % b"Dear Customer".hex()),
    ]
    ndb += body_sigs("Txt", normalise(text), 30, target=7)

    db = tmp_path / "db"
    db.mkdir()
    (db / "test.ndb").write_text("".join(line + "\n" for _, line in ndb))
    (db / "test.hdb").write_text("".join(line + "\n" for _, line in hdb))
    (db / "test.hsb").write_text("".join(line + "\n" for _, line in hsb))
    paths = []
    for fname, data in files.items():
        p = tmp_path / fname
        p.write_bytes(data)
        paths.append(str(p))

    clam = subprocess.run([CLAMSCAN, "--no-summary", "--allmatch", "-d", str(db)] + paths,
                          capture_output=True, text=True, timeout=300)
    assert clam.returncode in (0, 1), "clamscan failed:\n" + clam.stdout + clam.stderr
    ours = subprocess.run([SIGMATCH, "-d", str(db)] + paths, capture_output=True, text=True, timeout=300)
    assert ours.returncode in (0, 1), "sigmatch failed:\n" + ours.stdout + ours.stderr
    assert ours.stderr == "", "sigmatch refused signatures clamscan took:\n" + ours.stderr

    want = {(f, n) for f, n in found(clam.stdout, paths) if n.endswith(".UNOFFICIAL")}
    got = found(ours.stdout, paths)
    names = [n for n, _ in ndb + hdb + hsb]
    lines = dict(ndb + hdb + hsb)
    report = []
    for f, n in sorted(want - got):
        report.append("only clamscan: %s %s   (%s)" % (f, n, lines.get(n[:-len(".UNOFFICIAL")])))
    for f, n in sorted(got - want):
        report.append("only sigmatch: %s %s   (%s)" % (f, n, lines.get(n[:-len(".UNOFFICIAL")])))
    assert not report, "\n".join(report)

    # the test is only as good as its signatures: every positive must hit (in
    # clamscan, and so in ours), and nearly every near miss must not (a few
    # do hit where the bytes repeat, as clam.exe's runs of zeros)
    hit_names = {n[:-len(".UNOFFICIAL")] for _, n in want}
    pos = [n for n in names if n.endswith(".Pos")]
    neg = [n for n in names if n.endswith(".Neg")]
    missed = [n for n in pos if n not in hit_names]
    wrong = [n for n in neg if n in hit_names]
    assert not missed, "positives that did not hit: %s" % missed
    assert len(wrong) <= len(neg) // 20, "near misses that hit: %s" % wrong
    print("%d signatures, %d hits, the same in clamscan and sigmatch" % (len(names), len(want)))
