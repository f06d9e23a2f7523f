#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/<target>/ (git-ignored) from the repository's
# real test data: the hex vectors in tests/data/vectors/*.json, the captures in tests/data and the
# recorded TLS connections in crates/tls/tests/data.
#
#   fuzz/seed.sh            # (re)write the seeds; existing corpus files are kept
#   fuzz/seed.sh --clean    # delete fuzz/corpus first
#
# Needs python3 (standard library only). Seed layouts match the input layouts documented at the
# top of each fuzz_targets/*.rs file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
corpus="$here/corpus"

if [[ "${1:-}" == "--clean" ]]; then
    rm -rf "$corpus"
fi
mkdir -p "$corpus"

python3 - "$root" "$corpus" <<'PY'
import glob, hashlib, json, os, struct, sys

root, corpus = sys.argv[1], sys.argv[2]
vectors = os.path.join(root, "tests", "data", "vectors")
counts = {}

def seed(target, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    counts[target] = counts.get(target, 0) + 1

def load(name):
    with open(os.path.join(vectors, name)) as f:
        return json.load(f)

be32 = lambda v: struct.pack(">i", v)

def reply_sel(op):
    # zkwire_fuzz::reply_opcode: 0xFF + raw i32, 0xFE = untyped.
    return b"\xfe" if op is None else b"\xff" + be32(op)

# ---- client protocol -------------------------------------------------------------------
frames = []
for v in load("client.json"):
    raw = bytes.fromhex(v["hex"])
    kind = v["kind"]
    if kind == "client.4lw":
        seed("zk_request", raw)
        continue
    payload = raw[4:]
    frames.append(raw)
    if kind == "client.request":
        seed("zk_request", payload)
        seed("zk_roundtrip", b"\x00" + payload)
    elif kind == "client.reply":
        op = v.get("requestOpcode")
        seed("zk_reply", reply_sel(op) + payload)
        seed("zk_roundtrip", b"\x01" + reply_sel(op) + payload)
    elif kind in ("client.connect_request", "client.connect_response"):
        seed("zk_connect", payload)

# framer: cfg 0x37 = at boundary, zk-request plausibility, max 1 MiB, min 0; mode 0 / 2 (gaps).
stream = b"".join(frames)
for cfg, mode in ((0x37, 0), (0x36, 2), (0x35, 0)):
    seed("framer", bytes([cfg, mode, 0x12, 0x34]) + stream)
# Well-formed mode: length byte + payload, each frame's payload cut to 255 bytes.
wf = b"".join(bytes([min(len(f) - 4, 255)]) + f[4:4 + 255] for f in frames[:12])
seed("framer", bytes([0, 1, 0x56, 0x78]) + wf)

# ---- quorum protocol -------------------------------------------------------------------
for v in load("zab.json"):
    raw = bytes.fromhex(v["hex"])
    kind = v["kind"]
    if kind == "zab.packet":
        seed("zab_packet", raw)
        d = {"leader->learner": 1, "learner->leader": 2}.get(v.get("direction"), 0)
        seed("zab_roundtrip", bytes([d]) + raw)
        seed("zab_roundtrip", bytes([0]) + raw)
    elif kind == "zab.quorum_auth":
        seed("zab_packet", raw)
        seed("zab_roundtrip", b"\x00" + raw)
    elif kind == "zab.snapshot_stream":
        seed("zab_roundtrip", b"\x00" + raw)
        for s in (b"\x00\x01", b"\x07\x42", b"\xff\xff"):
            seed("zab_snapshot", s + raw)
        # The stream followed by the start of the next packet (UPTODATE-like header).
        seed("zab_snapshot", b"\x11\x22" + raw + bytes.fromhex("0000000c0000000100000000ffffffffffffffff"))

# ---- election protocol -----------------------------------------------------------------
initials, to_acceptor, to_initiator = [], [], []
for v in load("fle.json"):
    raw = bytes.fromhex(v["hex"])
    if v["kind"] == "fle.initial":
        initials.append(raw)
        seed("fle_roundtrip", raw)
    elif v["kind"] == "fle.notification":
        seed("fle_roundtrip", raw)
        seed("fle_roundtrip", raw[4:])
        (to_acceptor if v["direction"] == "initiator->acceptor" else to_initiator).append(raw)
auth = None
for v in load("zab.json"):
    if v["kind"] == "zab.quorum_auth":
        auth = bytes.fromhex(v["hex"])
        seed("fle_roundtrip", auth)
init_stream = (initials[0] if initials else b"") + b"".join(to_acceptor)
acc_stream = b"".join(to_initiator or to_acceptor)
for i, init in enumerate(initials):
    seed("fle_stream", bytes([0, 0, i, 1]) + init + b"".join(to_acceptor))
    seed("fle_stream", bytes([2, 0, i, 2]) + init + b"".join(to_acceptor))
if auth:
    seed("fle_stream", bytes([0, 0, 9, 9]) + init_stream[: len(initials[0])] + auth + b"".join(to_acceptor))
    seed("fle_stream", bytes([1, 0, 8, 8]) + auth + acc_stream)
seed("fle_stream", bytes([1, 0, 3, 4]) + acc_stream)
seed("fle_stream", bytes([0x81, 7, 3, 4]) + acc_stream)
seed("fle_stream", bytes([3, 0, 5, 6]) + init_stream[5:])
seed("fle_stream", bytes([3, 0, 7, 7]) + acc_stream[3:])

# ---- reassembler (synthetic segment scripts; layout in fuzz_targets/reassembler.rs) ---------
SYN, FIN, RST, ACK, MISS = 8, 16, 32, 64, 128
def seg(flow, server, flags, seq, ack=None, length=0, missing=None, dt=1, wild=False):
    f = flow | (4 if server else 0) | flags | (ACK if ack is not None else 0) | (MISS if missing is not None else 0)
    pack = (lambda x: struct.pack(">I", x & 0xFFFFFFFF)) if wild else (lambda x: struct.pack(">H", x & 0xFFFF))
    out = bytes([f]) + pack(seq)
    if ack is not None:
        out += pack(ack)
    out += bytes([length])
    if missing is not None:
        out += bytes([missing])
    return out + bytes([dt])

def script(cfg, base, segs):
    seed("reassembler", bytes([cfg]) + struct.pack(">I", base) + b"".join(segs))

handshake = [seg(0, False, SYN, 0), seg(0, True, SYN, 0, ack=1), seg(0, False, 0, 1, ack=1)]
script(0x3F, 0x10000000, handshake + [
    seg(0, False, 0, 1, ack=1, length=100),
    seg(0, True, 0, 1, ack=101, length=50),
    seg(0, False, 0, 201, ack=51, length=100),        # out of order
    seg(0, False, 0, 101, ack=51, length=100),        # fills the hole
    seg(0, False, 0, 101, ack=51, length=100),        # retransmission
    seg(0, False, 0, 301, ack=51, length=20, missing=30),
    seg(0, False, FIN, 351, ack=51),
    seg(0, True, FIN, 51, ack=352),
])
script(0x15, 0xFFFFFF00, [                             # small caps, wrap-around, timeouts
    seg(1, False, 0, 0, length=40),
    seg(1, False, 0, 80, length=40, dt=10),
    seg(2, True, 0, 300, length=200),
    seg(2, True, 0, 700, length=200, dt=100),
    seg(1, False, 0, 40, length=40),
    seg(2, False, 0, 5, ack=600, length=10),
    seg(3, False, RST, 0),
])
script(0xBF, 0x7FFFFFF0, [                             # wild sequence numbers
    seg(0, False, SYN, 0x7FFFFFF0, wild=True),
    seg(0, False, 0, 0x7FFFFFF1, length=64, wild=True),
    seg(0, False, 0, 0x00000010, length=64, wild=True),
    seg(0, False, 0, 0x7FFFFFF1 + 64, length=64, wild=True),
])

# ---- capture files ---------------------------------------------------------------------
def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    header = data[:24]
    linktype = struct.unpack(e + "I", data[20:24])[0]
    recs, pos = [], 24
    while pos + 16 <= len(data):
        ts_s, ts_f, incl, orig = struct.unpack(e + "IIII", data[pos:pos + 16])
        body = data[pos + 16:pos + 16 + incl]
        recs.append((data[pos:pos + 16 + incl], ts_s, ts_f, body, orig))
        pos += 16 + incl
    return header, linktype, nanos, recs

def pcapng(linktype, nanos, recs):
    def block(t, body):
        pad = (-len(body)) % 4
        n = 12 + len(body) + pad
        return struct.pack("<II", t, n) + body + b"\0" * pad + struct.pack("<I", n)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if nanos:
        opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)  # if_tsresol = 10^-9
    idb = block(1, struct.pack("<HHI", linktype, 0, 0x40000) + opts)
    out = shb + idb
    units = 10**9 if nanos else 10**6
    for _, ts_s, ts_f, body, orig in recs:
        ticks = ts_s * units + ts_f
        out += block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(body), orig) + body)
    return out

for path in sorted(glob.glob(os.path.join(root, "tests", "data", "*.pcap"))):
    parsed = read_pcap(path)
    if not parsed:
        continue
    header, linktype, nanos, recs = parsed
    n = len(recs)
    windows = [(0, 12)] + [(n * k // 10, 6) for k in range(1, 10)]
    for i, (start, count) in enumerate(windows):
        window = recs[start:start + count]
        body = b"".join(r[0] for r in window)
        if len(body) > 48 * 1024:
            continue
        seed("pcap_file", header + body)
        if i % 2 == 0:
            seed("pcap_file", pcapng(linktype, nanos, window))

# tls_stream: the recorded TLS connections of crates/tls/tests/data (one "> hex" or "< hex" line
# per chunk, client or server), as (flags, length, bytes) pieces of at most 255 bytes.
for path in sorted(glob.glob(os.path.join(root, "crates", "tls", "tests", "data", "*.stream"))):
    out = b""
    with open(path) as f:
        for line in f:
            side, _, hexed = line.strip().partition(" ")
            chunk = bytes.fromhex(hexed)
            flags = 1 if side == "<" else 0
            for i in range(0, len(chunk), 255):
                piece = chunk[i:i + 255]
                out += bytes([flags, len(piece)]) + piece
    seed("tls_stream", out[:64 * 1024])

for target in sorted(counts):
    print(f"{target:14} {counts[target]:3} seeds")
PY
echo "seeds written to $corpus"
