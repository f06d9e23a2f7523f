#!/usr/bin/env python3
"""Builds a large capture for benchmarks by repeating a little-endian classic pcap N times.

Each copy is shifted in time (after the previous one) and moved to its own address range
(the second octet of every IPv4 address becomes the copy number), so the copies are distinct
TCP flows rather than retransmissions of each other. IP checksums are not fixed: zkwire does
not verify them.

usage: make-big-capture.py INPUT.pcap COPIES OUTPUT.pcap
"""
import struct
import sys


def main() -> None:
    src, copies, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    data = open(src, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("expected a little-endian microsecond pcap")
    header, records = data[:24], []
    pos = 24
    while pos + 16 <= len(data):
        sec, usec, caplen, origlen = struct.unpack_from("<IIII", data, pos)
        records.append((sec, usec, origlen, data[pos + 16 : pos + 16 + caplen]))
        pos += 16 + caplen
    span = records[-1][0] - records[0][0] + 1
    with open(dst, "wb") as out:
        out.write(header)
        for k in range(copies):
            for sec, usec, origlen, frame in records:
                f = bytearray(frame)
                # Ethernet + IPv4: move both addresses to 127.<k>.x.y.
                if len(f) >= 34 and f[12:14] == b"\x08\x00":
                    f[27] = k % 256
                    f[31] = k % 256
                out.write(struct.pack("<IIII", sec + k * span, usec, len(f), origlen))
                out.write(f)


if __name__ == "__main__":
    main()
