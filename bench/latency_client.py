#!/usr/bin/python3
"""bench/latency_client.py ROLE SOCKET … — the three clients of bench/jrd_latency.

Speaks docs/protocol.md directly (framing from bench/status_client.py). Roles:
  status SOCKET JOB CALLS          one connection; CALLS status requests, one at a time; prints
                                   `status MS MS …`, each call's milliseconds.
  page SOCKET JOB READY STOP       pages through every task of JOB (`tasks` with offset/limit
                                   1000), again and again, until the file STOP exists; creates
                                   READY after its first page; prints `page PAGES TASKS`.
  flood SOCKET READY STOP          sends pings 500 at a time without waiting, then reads the 500
                                   replies, until STOP exists; creates READY after the first
                                   batch; prints `flood PINGS`.
"""

import json
import os
import struct
import sys
import time

from status_client import call, connect, read_exactly


def status(path, job, calls):
    sock = connect(path)
    call(sock, 1, "status", {"job": job})  # warm-up, not counted
    ms = []
    for i in range(calls):
        t0 = time.perf_counter()
        call(sock, i + 2, "status", {"job": job})
        ms.append((time.perf_counter() - t0) * 1000)
    print("status " + " ".join(f"{v:.3f}" for v in ms))


def page(path, job, ready, stop):
    sock = connect(path)
    pages = tasks = rid = 0
    while not os.path.exists(stop):
        offset = 0
        while not os.path.exists(stop):
            rid += 1
            got = call(sock, rid, "tasks", {"job": job, "offset": offset, "limit": 1000})["tasks"]
            pages += 1
            tasks += len(got)
            if pages == 1:
                open(ready, "w").close()
            if len(got) < 1000:
                break
            offset += len(got)
    print(f"page {pages} {tasks}")


def flood(path, ready, stop):
    sock = connect(path)
    batch = 500
    ping = b"".join(struct.pack(">I", len(b)) + b for b in
                    (json.dumps({"id": i, "method": "ping", "params": {}}).encode() for i in range(batch)))
    pings = 0
    while not os.path.exists(stop):
        sock.sendall(ping)
        for _ in range(batch):
            (length,) = struct.unpack(">I", read_exactly(sock, 4))
            read_exactly(sock, length)
        pings += batch
        if pings == batch:
            open(ready, "w").close()
    print(f"flood {pings}")


def main():
    role, path = sys.argv[1], sys.argv[2]
    if role == "status":
        status(path, int(sys.argv[3]), int(sys.argv[4]))
    elif role == "page":
        page(path, int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif role == "flood":
        flood(path, sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(f"latency_client: unknown role {role!r}")


if __name__ == "__main__":
    main()
