#!/usr/bin/python3
"""bench/status_client.py SOCKET JOB CALLS — time jrd's `status` method without process start.

Speaks docs/protocol.md directly (standard library only). Two ways, CALLS each:
  persistent: one connection and one hello, then CALLS status requests, one at a time;
  connect:    per call a new connection, hello, status, close (what one `jr status` does,
              minus exec and its start-up).
Prints one line per way: `persistent MS MS …` and `connect MS MS …`, each call's milliseconds.
"""

import json
import socket
import struct
import sys
import time


def read_exactly(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise SystemExit("status_client: jrd closed the connection")
        buf += chunk
    return bytes(buf)


def call(sock, rid, method, params):
    body = json.dumps({"id": rid, "method": method, "params": params}).encode()
    sock.sendall(struct.pack(">I", len(body)) + body)
    (length,) = struct.unpack(">I", read_exactly(sock, 4))
    reply = json.loads(read_exactly(sock, length))
    if "error" in reply:
        raise SystemExit(f"status_client: {method}: {reply['error']}")
    return reply["result"]


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    call(sock, 0, "hello", {"protocol": 1, "client": "bench/status_client.py"})
    return sock


def main():
    path, job, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sock = connect(path)
    call(sock, 1, "status", {"job": job})  # warm-up, not counted
    persistent = []
    for i in range(calls):
        t0 = time.perf_counter()
        result = call(sock, i + 2, "status", {"job": job})
        persistent.append((time.perf_counter() - t0) * 1000)
        if result["id"] != job:
            raise SystemExit("status_client: a reply for another job")
    sock.close()
    fresh = []
    for i in range(calls):
        t0 = time.perf_counter()
        sock = connect(path)
        call(sock, 1, "status", {"job": job})
        sock.close()
        fresh.append((time.perf_counter() - t0) * 1000)
    print("persistent " + " ".join(f"{v:.3f}" for v in persistent))
    print("connect " + " ".join(f"{v:.3f}" for v in fresh))


if __name__ == "__main__":
    main()
