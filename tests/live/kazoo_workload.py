"""Drive a real ZooKeeper ensemble with kazoo and log every request kazoo puts on the wire.

Ground truth for zkwire's live tests: each request kazoo submits (xid, opcode, path, client port)
is appended to a JSONL log by wrapping kazoo's ConnectionHandler._submit, the single place where
kazoo serializes a request onto its socket. Adapted from the shared corpus recipe
(shared/corpus/zk38-recipe/workload.py), which made the shipped capture zk38-mtu1500.pcap.

usage: kazoo_workload.py HOSTS TRUTH.jsonl [a|b]   (a: the full workload; b: writes only, for
a failover)

TLS (issue 17): with ZKWIRE_TLS_KEYLOG set, kazoo connects with use_ssl and Python's ssl writes
the connection's secrets to that NSS key log (kazoo builds its own SSLContext, so the context
class it uses is wrapped to set keylog_filename). ZKWIRE_TLS_VERSION (1.2 or 1.3) pins the
version and ZKWIRE_TLS_CIPHERS the TLS 1.2 cipher list (OpenSSL names); TLS 1.3 suites are
chosen through OPENSSL_CONF, which Python's ssl module has no call for.
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

KEYLOG = os.environ.get("ZKWIRE_TLS_KEYLOG")
if KEYLOG:
    import ssl
    from kazoo.handlers import utils as kutils

    class _LoggingSsl:
        """The ssl module as kazoo's connection code sees it, with a key-logging context."""

        def __getattr__(self, name):
            return getattr(ssl, name)

        @staticmethod
        def SSLContext(_protocol):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.keylog_filename = KEYLOG
            version = os.environ.get("ZKWIRE_TLS_VERSION")
            if version == "1.2":
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            elif version == "1.3":
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            if os.environ.get("ZKWIRE_TLS_CIPHERS"):
                ctx.set_ciphers(os.environ["ZKWIRE_TLS_CIPHERS"])
            return ctx

    kutils.ssl = _LoggingSsl()


# ZKWIRE_TAG keeps the znodes of several runs apart (one ensemble, several TLS clients).
ROOT = "/live" + os.environ.get("ZKWIRE_TAG", "")


def workload(zk):
    zk.ensure_path(ROOT)
    for i in range(20):
        zk.create(ROOT + f"/n{i:03d}", f"value-{i}".encode())
    for i in range(20):
        zk.get(ROOT + f"/n{i:03d}")
        zk.exists(ROOT + f"/n{i:03d}")
    zk.get_children(ROOT)
    for i in range(10):
        zk.set(ROOT + f"/n{i:03d}", b"x" * (i * 100))
    for i in range(5):
        zk.create(ROOT + "/seq-", b"s", sequence=True)
        zk.create(ROOT + "/eph-", b"e", ephemeral=True, sequence=True)
    fired = []
    zk.get(ROOT + "/n000", watch=fired.append)
    zk.get_children(ROOT, watch=fired.append)
    zk.exists(ROOT + "/not-yet", watch=fired.append)
    # Never created: this watch is still set when the session closes, and ends with it.
    zk.exists(ROOT + "/stays-absent", watch=fired.append)
    zk.set(ROOT + "/n000", b"changed")
    zk.create(ROOT + "/not-yet", b"")
    # A znode of 300 KiB spans hundreds of TCP segments.
    zk.create(ROOT + "/big", os.urandom(300 * 1024))
    zk.get(ROOT + "/big")
    zk.ensure_path(ROOT + "/wide")
    tx = zk.transaction()
    for i in range(150):
        tx.create(ROOT + f"/wide/child-with-a-longish-name-{i:05d}")
    tx.commit()
    zk.get_children(ROOT + "/wide")
    tx = zk.transaction()  # fails on its version check
    tx.check(ROOT + "/n001", 99)
    tx.create(ROOT + "/never")
    tx.commit()
    for bad in (lambda: zk.get(ROOT + "/missing"), lambda: zk.create(ROOT + "/n001", b"dup"),
                lambda: zk.delete(ROOT + "/wide")):
        try:
            bad()
        except Exception:
            pass
    zk.add_auth("digest", "alice:secret")
    acl = make_digest_acl("alice", "secret", all=True)
    zk.create(ROOT + "/secret", b"s3cr3t", acl=[acl])
    zk.get_acls(ROOT + "/secret")
    zk.set_acls(ROOT + "/secret", [acl])
    zk.sync(ROOT)
    for i in range(10, 20):
        zk.delete(ROOT + f"/n{i:03d}")
    zk.delete(ROOT + "/wide", recursive=True)
    # Idle long enough for kazoo to ping (every timeout/3 = 1 s).
    time.sleep(2.5)


def writes(zk):
    zk.ensure_path(ROOT)
    for i in range(30):
        zk.create(ROOT + f"/b{i:03d}", b"b")
        zk.set(ROOT + f"/b{i:03d}", f"during-failover-{i}".encode())
    zk.get_children(ROOT)


def main():
    tls = {"use_ssl": True, "verify_certs": False} if KEYLOG else {}
    zk = KazooClient(hosts=HOSTS, timeout=3.0, **tls)
    zk.start(timeout=30)
    try:
        (writes if len(sys.argv) > 3 and sys.argv[3] == "b" else workload)(zk)
    finally:
        zk.stop()
        zk.close()


main()
