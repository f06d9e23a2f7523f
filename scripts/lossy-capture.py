#!/usr/bin/env python3
"""Writes a capture as a sniffer that started late and then missed packets would have it: the
first START fraction of the records is left out (every connection then starts mid-stream) and
each later record is left out with probability DROP (reassembly gaps, resynchronisations).
Records are copied, never made up. Seeded, so the same input gives the same output.

usage: lossy-capture.py INPUT.pcap START DROP OUTPUT.pcap     (e.g. 0.1 0.02)
Classic pcap only (either byte order, micro- or nanosecond).
"""
import random
import struct
import sys


def main() -> None:
    src, start, drop, dst = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    rng = random.Random(16)
    with open(src, "rb") as f:
        header = f.read(24)
        magic = header[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            order = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            order = ">"
        else:
            sys.exit("lossy-capture.py: not a classic pcap file")
        records = []
        while True:
            head = f.read(16)
            if len(head) < 16:
                break
            caplen = struct.unpack(order + "IIII", head)[2]
            records.append(head + f.read(caplen))
    skip = int(len(records) * start)
    kept = 0
    with open(dst, "wb") as out:
        out.write(header)
        for record in records[skip:]:
            if rng.random() >= drop:
                out.write(record)
                kept += 1
    print(f"{dst}: {kept} of {len(records)} records ({skip} skipped at the start)")


if __name__ == "__main__":
    main()
