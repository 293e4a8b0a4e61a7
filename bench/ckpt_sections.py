#!/usr/bin/env python3
"""What changes between two checkpoint states, section by section.

Reads two engine states as ccp_engine_save() writes them (e.g. two files of
`bench_ckpt --dump DIR`: a base and a later checkpoint of the same
partition) and prints, per section (docs/checkpoints.md, "Format"): its
size in both, the bytes the two share from the start, and the share of
64-byte lines and of bytes that differ at the same offset over the
shorter of the two. A section whose lines mostly stay put could be written
as its difference from the base at the same offsets; one that differs
everywhere at the same offset moved (an insertion shifts what follows) and
needs a matcher that finds moved bytes, as zstd's long-distance matching
does for the whole state today (bench/README.md, "Issue 8, session 18").

  ckpt_sections.py BASE NEW
"""
import struct
import sys

HEADER = 32  # magic 8, version 4, layout 4, body length 8, checksum 8 (src/engine/checkpoint.c)


def sections(b):
    """[(tag, offset of the body, length)] of state bytes b."""
    if len(b) < HEADER or not b.startswith(b"CCPCKPT"):
        sys.exit("ckpt_sections: not a checkpoint state (no CCPCKPT header)")
    out, p = [], HEADER
    while p + 12 <= len(b):
        tag, n = struct.unpack_from("<IQ", b, p)
        if p + 12 + n > len(b):
            sys.exit("ckpt_sections: section at byte %d runs past the end" % p)
        out.append((struct.pack("<I", tag).decode("ascii", "replace"), p + 12, n))
        p += 12 + n
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    base = open(sys.argv[1], "rb").read()
    new = open(sys.argv[2], "rb").read()
    bs = {t: (o, n) for t, o, n in sections(base)}
    print("%-5s %10s %10s %10s %9s %9s" % ("sect", "new B", "base B", "prefix B", "lines %", "bytes %"))
    for tag, o, n in sections(new):
        x = new[o:o + n]
        bo, bn = bs.get(tag, (0, 0))
        y = base[bo:bo + bn]
        m = min(n, bn)
        # the 64-byte lines (the last one may be shorter) that differ; bytes are
        # counted in those alone, and the common prefix ends in the first of them
        diff = [k for k in range(0, m, 64) if x[k:k + 64] != y[k:k + 64]]
        nbytes = sum(a != c for k in diff for a, c in zip(x[k:k + 64], y[k:k + 64]))
        prefix = m if not diff else next(k for k in range(diff[0], m) if x[k] != y[k])
        full = [k for k in diff if k + 64 <= m]  # lines % over the whole lines, as before
        print("%-5s %10d %10d %10d %8.1f%% %8.1f%%" % (
            tag, n, bn, prefix, 100.0 * len(full) / max(m // 64, 1), 100.0 * nbytes / max(m, 1)))


if __name__ == "__main__":
    main()
