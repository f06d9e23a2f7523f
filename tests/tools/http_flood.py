"""Opens many idle or slow HTTP connections to a server and holds them until stdin closes.

usage: http_flood.py HOST PORT COUNT
Each connection sends half a request line, as a slowloris client does. Prints "ready N" once
N connections are open (connect failures are counted, not fatal: the server may close the
oldest ones), then waits; closing stdin closes every connection.
"""
import resource
import socket
import sys


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    held, failed = [], 0
    for _ in range(count):
        s = socket.socket()
        try:
            s.connect((host, port))
            s.sendall(b"GET /metr")
            held.append(s)
        except OSError:
            failed += 1
            s.close()
    print(f"ready {len(held)} failed {failed}", flush=True)
    sys.stdin.read()
    for s in held:
        s.close()


main()
