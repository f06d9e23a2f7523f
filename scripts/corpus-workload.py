#!/usr/bin/env python3
"""Drives a real ZooKeeper ensemble with one shape of traffic, for the bench corpus
(scripts/record-corpus.sh records each shape with scripts/record-big-capture.sh).

usage: corpus-workload.py SHAPE HOSTS SECONDS
  SHAPE  reads    1,200 connections doing small reads (getData, exists, getChildren)
         large    a few connections writing 100 KB - 1 MB values (over a 1500-byte MTU)
         watches  thousands of data watches set by 50 connections, then fired by writes
         churn    session churn: connect, one read, close, 100 loops at once
  HOSTS  host:port,host:port,...

A minimal asyncio client of the ZooKeeper wire protocol (Jute), standard library only, so that a
thousand connections cost a thousand sockets, not a thousand client threads.
"""
import asyncio
import random
import struct
import sys
import time

OP_CREATE, OP_DELETE, OP_EXISTS, OP_GET_DATA, OP_SET_DATA = 1, 2, 3, 4, 5
OP_GET_CHILDREN, OP_PING, OP_CLOSE = 8, 11, -11
OPEN_ACL = struct.pack(">i", 1) + struct.pack(">i", 31) + b"\x00\x00\x00\x05world" + b"\x00\x00\x00\x06anyone"


def jstr(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def jbuf(b):
    return struct.pack(">i", len(b)) + b


class Client:
    """One session at a time: requests pipelined, replies matched by xid; watch events
    counted. A server that goes away (the leader is killed halfway) is left for another."""

    def __init__(self, hosts, first):
        self.hosts = hosts[first % len(hosts):] + hosts[: first % len(hosts)]
        self.xid = 0
        self.pending = {}
        self.events = 0
        self.alive = False
        # Calls pipelined on a session that died must reconnect once, not each on its own
        # (two handshakes reading one stream at a time is an asyncio error).
        self.reconnecting = asyncio.Lock()

    async def connect(self):
        deadline = time.time() + 60
        while True:
            for host in self.hosts:
                name, port = host.rsplit(":", 1)
                try:
                    self.reader, self.writer = await asyncio.open_connection(name, int(port))
                    body = struct.pack(">iqiq", 0, 0, 30000, 0) + jbuf(b"\x00" * 16) + b"\x00"
                    self.writer.write(struct.pack(">i", len(body)) + body)
                    await self.writer.drain()
                    await asyncio.wait_for(self._frame(), 10)
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                    continue
                self.alive = True
                self.task = asyncio.create_task(self._replies())
                return
            if time.time() > deadline:
                raise ConnectionError("no server accepts a session")
            await asyncio.sleep(0.2)

    async def _frame(self):
        (n,) = struct.unpack(">i", await self.reader.readexactly(4))
        return await self.reader.readexactly(n)

    async def _replies(self):
        try:
            while True:
                frame = await self._frame()
                xid, _zxid, err = struct.unpack(">iqi", frame[:16])
                if xid == -1:
                    self.events += 1
                    continue
                fut = self.pending.pop(xid, None)
                if fut is not None and not fut.done():
                    fut.set_result(err)
        except (OSError, asyncio.IncompleteReadError):
            self.alive = False
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("session lost"))
            self.pending.clear()

    async def call(self, op, body=b""):
        if not self.alive:
            async with self.reconnecting:
                if not self.alive:
                    self.writer.close()
                    await self.connect()
        self.xid += 1
        xid = self.xid
        fut = asyncio.get_running_loop().create_future()
        self.pending[xid] = fut
        payload = struct.pack(">ii", xid, op) + body
        try:
            self.writer.write(struct.pack(">i", len(payload)) + payload)
            await self.writer.drain()
            return await fut
        except (OSError, ConnectionError):
            self.pending.pop(xid, None)
            self.alive = False
            return None

    async def create(self, path, data=b""):
        return await self.call(OP_CREATE, jstr(path) + jbuf(data) + OPEN_ACL + struct.pack(">i", 0))

    async def get(self, path, watch=False):
        return await self.call(OP_GET_DATA, jstr(path) + (b"\x01" if watch else b"\x00"))

    async def exists(self, path, watch=False):
        return await self.call(OP_EXISTS, jstr(path) + (b"\x01" if watch else b"\x00"))

    async def children(self, path):
        return await self.call(OP_GET_CHILDREN, jstr(path) + b"\x00")

    async def set(self, path, data):
        return await self.call(OP_SET_DATA, jstr(path) + jbuf(data) + struct.pack(">i", -1))

    async def close(self):
        try:
            await asyncio.wait_for(self.call(OP_CLOSE), 5)
        except (asyncio.TimeoutError, OSError, ConnectionError):
            pass
        self.writer.close()
        self.task.cancel()


async def clients(hosts, n):
    made = [Client(hosts, i) for i in range(n)]
    for i in range(0, n, 100):  # a hundred handshakes at a time
        await asyncio.gather(*(c.connect() for c in made[i : i + 100]))
    return made


async def reads(hosts, seconds):
    setup = (await clients(hosts, 1))[0]
    await setup.create("/reads")
    for i in range(50):
        await setup.create(f"/reads/n{i}", b"x" * random.randint(10, 200))
    conns = await clients(hosts, 1200)
    end = time.time() + seconds

    async def loop(c):
        while time.time() < end:
            i = random.randrange(50)
            op = random.choice((c.get, c.exists, c.children))
            await (op(f"/reads/n{i}") if op != c.children else op("/reads"))
            await asyncio.sleep(random.uniform(0, 0.05))

    await asyncio.gather(*(loop(c) for c in conns))
    await asyncio.gather(*(c.close() for c in conns + [setup]))


async def large(hosts, seconds):
    conns = await clients(hosts, 4)
    await conns[0].create("/large")
    for i in range(8):
        await conns[0].create(f"/large/n{i}")
    end = time.time() + seconds

    async def loop(c):
        while time.time() < end:
            size = random.randint(100_000, 1_000_000)
            await c.set(f"/large/n{random.randrange(8)}", random.randbytes(size))
            await c.get(f"/large/n{random.randrange(8)}")

    await asyncio.gather(*(loop(c) for c in conns))
    await asyncio.gather(*(c.close() for c in conns))


async def watches(hosts, seconds):
    conns = await clients(hosts, 50)
    writer = conns[0]
    await writer.create("/watches")
    for i in range(2000):
        await writer.create(f"/watches/n{i}", b"v")
    end = time.time() + seconds
    while time.time() < end:
        # Every watcher sets a data watch on its share of the nodes, then they all fire.
        await asyncio.gather(
            *(
                c.get(f"/watches/n{i}", watch=True) if i % 2 else c.exists(f"/watches/n{i}", watch=True)
                for k, c in enumerate(conns[1:])
                for i in range(k, 2000, 49)
            )
        )
        await asyncio.gather(*(writer.set(f"/watches/n{i}", b"w") for i in range(0, 2000, 1)))
    await asyncio.sleep(1)
    print(f"watch events received: {sum(c.events for c in conns)}", file=sys.stderr)
    await asyncio.gather(*(c.close() for c in conns))


async def churn(hosts, seconds):
    setup = (await clients(hosts, 1))[0]
    await setup.create("/churn", b"c")
    end = time.time() + seconds

    async def loop(k):
        while time.time() < end:
            c = Client(hosts, k)
            await c.connect()
            await c.get("/churn")
            await c.close()

    await asyncio.gather(*(loop(k) for k in range(100)))
    await setup.close()


def main():
    shape, hosts, seconds = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
    shapes = {"reads": reads, "large": large, "watches": watches, "churn": churn}
    if shape not in shapes:
        sys.exit(f"corpus-workload.py: unknown shape {shape!r} (one of {', '.join(shapes)})")
    asyncio.run(shapes[shape](hosts, seconds))


if __name__ == "__main__":
    main()
