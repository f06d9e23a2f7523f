"""A TLS front for a plaintext ZooKeeper client port, for the live TLS test.

Debian's ZooKeeper 3.8.0 serves its secure client port through Netty 4.1.48, which offers only
TLS 1.2 here, and without ChaCha20-Poly1305; this proxy (Python's ssl, OpenSSL 3) terminates
TLS 1.3 (or 1.2) from kazoo and relays the plaintext to the real server, so the capture between
kazoo and the proxy carries a real client's ZooKeeper session inside real TLS records.

usage: tls_proxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT CERT.pem KEY.pem
Prints "listening" once it accepts connections.
"""
import select
import socket
import ssl
import sys
import threading

listen_host, listen_port, target_host, target_port, cert, key = sys.argv[1:7]

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(cert, key)


def serve(raw):
    """Relays one connection both ways from one thread: an SSL socket must not be read and
    written by two threads at once."""
    try:
        client = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    upstream = socket.create_connection((target_host, int(target_port)))
    other = {client: upstream, upstream: client}
    try:
        while True:
            readable, _, _ = select.select([client, upstream], [], [])
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                other[s].sendall(data)
                # Decrypted bytes already read off the socket do not wake select.
                while s is client and client.pending():
                    upstream.sendall(client.recv(client.pending()))
    except OSError:
        pass
    finally:
        client.close()
        upstream.close()


server = socket.create_server((listen_host, int(listen_port)))
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
