"""Drive a real ZooKeeper ensemble with kazoo and log every request kazoo puts on the wire.

Ground truth for zkwire's live tests: each request kazoo submits (xid, opcode, path, client port)
is appended to a JSONL log by wrapping kazoo's ConnectionHandler._submit, the single place where
kazoo serializes a request onto its socket. Adapted from the shared corpus recipe
(shared/corpus/zk38-recipe/workload.py), which made the shipped capture zk38-mtu1500.pcap.

usage: kazoo_workload.py HOSTS TRUTH.jsonl [a|b]   (a: the full workload; b: writes only, for
a failover)
"""
import json
import os
import sys
import time

from kazoo.client import KazooClient
from kazoo.protocol import connection as kconn
from kazoo.security import make_digest_acl

HOSTS = sys.argv[1]
LOG = open(sys.argv[2], "a")

_orig = kconn.ConnectionHandler._submit


def _submit(self, request, timeout, xid=None):
    LOG.write(json.dumps({
        "t": time.time(),
        "xid": xid,
        "type": type(request).__name__,
        "opcode": getattr(request, "type", None),
        "path": getattr(request, "path", None),
        "client_port": self._socket.getsockname()[1] if self._socket else None,
    }) + "\n")
    LOG.flush()
    return _orig(self, request, timeout, xid)


kconn.ConnectionHandler._submit = _submit


def workload(zk):
    zk.ensure_path("/live")
    for i in range(20):
        zk.create(f"/live/n{i:03d}", f"value-{i}".encode())
    for i in range(20):
        zk.get(f"/live/n{i:03d}")
        zk.exists(f"/live/n{i:03d}")
    zk.get_children("/live")
    for i in range(10):
        zk.set(f"/live/n{i:03d}", b"x" * (i * 100))
    for i in range(5):
        zk.create("/live/seq-", b"s", sequence=True)
        zk.create("/live/eph-", b"e", ephemeral=True, sequence=True)
    fired = []
    zk.get("/live/n000", watch=fired.append)
    zk.get_children("/live", watch=fired.append)
    zk.exists("/live/not-yet", watch=fired.append)
    # Never created: this watch is still set when the session closes, and ends with it.
    zk.exists("/live/stays-absent", watch=fired.append)
    zk.set("/live/n000", b"changed")
    zk.create("/live/not-yet", b"")
    # A znode of 300 KiB spans hundreds of TCP segments.
    zk.create("/live/big", os.urandom(300 * 1024))
    zk.get("/live/big")
    zk.ensure_path("/live/wide")
    tx = zk.transaction()
    for i in range(150):
        tx.create(f"/live/wide/child-with-a-longish-name-{i:05d}")
    tx.commit()
    zk.get_children("/live/wide")
    tx = zk.transaction()  # fails on its version check
    tx.check("/live/n001", 99)
    tx.create("/live/never")
    tx.commit()
    for bad in (lambda: zk.get("/live/missing"), lambda: zk.create("/live/n001", b"dup"),
                lambda: zk.delete("/live/wide")):
        try:
            bad()
        except Exception:
            pass
    zk.add_auth("digest", "alice:secret")
    acl = make_digest_acl("alice", "secret", all=True)
    zk.create("/live/secret", b"s3cr3t", acl=[acl])
    zk.get_acls("/live/secret")
    zk.set_acls("/live/secret", [acl])
    zk.sync("/live")
    for i in range(10, 20):
        zk.delete(f"/live/n{i:03d}")
    zk.delete("/live/wide", recursive=True)
    # Idle long enough for kazoo to ping (every timeout/3 = 1 s).
    time.sleep(2.5)


def writes(zk):
    zk.ensure_path("/live")
    for i in range(30):
        zk.create(f"/live/b{i:03d}", b"b")
        zk.set(f"/live/b{i:03d}", f"during-failover-{i}".encode())
    zk.get_children("/live")


def main():
    zk = KazooClient(hosts=HOSTS, timeout=3.0)
    zk.start(timeout=30)
    try:
        (writes if len(sys.argv) > 3 and sys.argv[3] == "b" else workload)(zk)
    finally:
        zk.stop()
        zk.close()


main()
