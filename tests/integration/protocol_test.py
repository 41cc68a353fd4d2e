#!/usr/bin/python3
"""Drives a real jrd through docs/protocol.md with protocol_client.py (standard library only).

    JRD_BIN=build/daemon/jrd /usr/bin/python3 tests/integration/protocol_test.py [ProtocolTest|PeerTest]

ProtocolTest: the methods, typed errors, version handshake, and garbage on the socket (after
each piece of garbage, a fresh client must still be served). PeerTest: a client of another uid
(nobody) is kept out by the socket's permissions and, when it gets past them, by SO_PEERCRED;
it needs root to switch uid, and is skipped otherwise.
"""

import json
import os
import pwd
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jrd_process import Jrd, main, try_ping, wait_for  # noqa: E402
from protocol_client import MAX_FRAME_BYTES, Client, ConnectionClosed, ProtocolError  # noqa: E402

TERMINAL_JOB_STATES = ("succeeded", "failed", "cancelled")


class ProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jrd = Jrd()

    @classmethod
    def tearDownClass(cls):
        alive = cls.jrd.alive()
        log = cls.jrd.log()
        code = cls.jrd.stop()
        assert alive, "jrd died during the tests:\n" + log
        assert code == 0, f"jrd exited with {code} on SIGTERM:\n{log}"

    def connect(self, hello=True):
        return Client(self.jrd.socket, hello=hello, timeout=120)

    def raw(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.jrd.socket)
        return s

    def assertServing(self):
        self.assertTrue(self.jrd.alive(), "jrd died:\n" + self.jrd.log())
        self.assertEqual(try_ping(self.jrd.socket), self.jrd.proc.pid, "a fresh client's ping is not answered")

    def assertErrorThenClose(self, client, code, id_=None, message_part=""):
        reply = client.recv_message()
        self.assertEqual(reply.get("id"), id_)
        self.assertNotIn("result", reply)
        self.assertEqual(reply["error"]["code"], code, reply)
        self.assertIn(message_part, reply["error"]["message"])
        with self.assertRaises(ConnectionClosed):
            client.recv_frame()

    def wait_job(self, client, job):
        def finished():
            status = client.call("status", {"job": job})
            return status if status["state"] in TERMINAL_JOB_STATES else None
        return wait_for(finished, timeout=60, what=f"job {job} to finish")

    # The methods.

    def test_hello(self):
        with self.connect() as c:
            self.assertEqual(c.server["protocol"], 1)
            self.assertTrue(c.server["server"].startswith("jr "), c.server)
            pong = c.call("ping")
            self.assertEqual({k: pong[k] for k in ("pid", "state_dir")}, {"pid": self.jrd.proc.pid, "state_dir": self.jrd.state})
            self.assertRegex(pong["containment"], r"^(cgroup /.*|subreaper)$")

    def test_submit_status_tasks_events(self):
        with self.connect() as c:
            sub = c.call("submit", {"name": "protocol-test", "command": ["echo", "{}"],
                                    "sources": [["alpha", "beta", "gamma"]], "parallelism": 2})
            self.assertEqual(sub["tasks"], 3)
            job = sub["job"]
            status = self.wait_job(c, job)
            self.assertEqual(status["state"], "succeeded", status)
            self.assertEqual((status["id"], status["name"], status["total"]), (job, "protocol-test", 3))
            self.assertEqual(status["counts"]["succeeded"], 3)
            self.assertEqual(status["command"], ["echo", "{}"])
            self.assertEqual(c.call("status", {"name": "protocol-test"})["id"], job)
            self.assertIn(job, [j["id"] for j in c.call("list", {"state": "succeeded"})["jobs"]])

            tasks = c.call("tasks", {"job": job})["tasks"]
            self.assertEqual([t["index"] for t in tasks], [0, 1, 2])
            for t, word in zip(tasks, ["alpha", "beta", "gamma"]):
                self.assertEqual((t["state"], t["exit_code"], t["signal"], t["attempts"]), ("succeeded", 0, None, 1))
                self.assertEqual(t["argv"], ["echo", word])
                with open(t["stdout"]) as f:
                    self.assertEqual(f.read(), word + "\n")
            self.assertEqual([t["index"] for t in c.call("tasks", {"job": job, "index": 1})["tasks"]], [1])
            page = c.call("tasks", {"job": job, "offset": 1, "limit": 1})["tasks"]
            self.assertEqual([t["index"] for t in page], [1])

            events = c.call("events", {"job": job})["events"]
            self.assertEqual(events[0]["detail"], "job created")
            self.assertIsNone(events[0]["task"])
            moves = sorted((e["index"], e["from"], e["to"]) for e in events[1:])
            self.assertEqual(moves, sorted([(i, "pending", "running") for i in range(3)] +
                                           [(i, "running", "succeeded") for i in range(3)]))
            ids = [e["id"] for e in events]
            self.assertEqual(ids, sorted(ids))
            later = c.call("events", {"job": job, "after": ids[2]})["events"]
            self.assertEqual([e["id"] for e in later], ids[3:])

    def test_unknown_job_is_not_found(self):
        with self.connect() as c:
            for method in ("status", "tasks", "events", "cancel", "pause", "resume", "retry"):
                with self.assertRaises(ProtocolError) as e:
                    c.call(method, {"job": 987654})
                self.assertEqual(e.exception.code, "not_found", method)
                self.assertEqual(e.exception.reply["id"], c.next_id - 1)
            with self.assertRaises(ProtocolError) as e:
                c.call("status", {"name": "no such job"})
            self.assertEqual(e.exception.code, "not_found")
            c.call("ping")  # the connection stays open after a typed error

    def test_missing_task_is_not_found(self):
        with self.connect() as c:
            # Task 0 runs, task 1 waits (parallelism 1).
            job = c.call("submit", {"command": ["sleep", "{}"], "sources": [["600", "601"]]})["job"]
            try:
                for method in ("cancel", "tasks"):
                    with self.assertRaises(ProtocolError) as e:
                        c.call(method, {"job": job, "index": 99})
                    self.assertEqual(e.exception.code, "not_found", method)
                    self.assertEqual(e.exception.message, f"job {job} has no task 99")
                self.assertEqual(c.call("status", {"job": job})["counts"]["cancelled"], 0)
                self.assertEqual(c.call("cancel", {"job": job, "index": 1}), {"cancelled": 1})
                # A task that exists but has ended: found, with nothing left to cancel.
                self.assertEqual(c.call("cancel", {"job": job, "index": 1}), {"cancelled": 0})
            finally:
                c.call("cancel", {"job": job})

    def test_bad_requests_keep_the_connection(self):
        with self.connect() as c:
            for method, params in [("bogus", {}), ("status", {}), ("submit", {"command": []}),
                                   ("submit", {"command": ["true"], "parallelism": 0}),
                                   ("tasks", {"job": "one"}), ("checkpoint.save", {})]:
                with self.assertRaises(ProtocolError) as e:
                    c.call(method, params)
                self.assertEqual(e.exception.code, "bad_request", (method, params))
            with self.assertRaises(ProtocolError) as e:
                c.call("checkpoint.save", {"run": "nobody.1.1"})
            self.assertEqual(e.exception.code, "not_found")
            c.call("ping")

    def test_reply_over_the_frame_limit_is_an_error(self):
        with self.connect() as c:
            blocker = c.call("submit", {"command": ["sleep", "600"]})["job"]
            try:
                # 20,000 tasks of ~1 KB argv each, held pending behind the blocker: ~25 MB of tasks.
                long_words = [f"{i:04d}" + "x" * 1000 for i in range(200)]
                job = c.call("submit", {"command": ["true", "{1}", "{2}"], "after": blocker,
                                        "sources": [long_words, [str(i) for i in range(100)]]})["job"]
                with self.assertRaises(ProtocolError) as e:
                    c.call("tasks", {"job": job, "limit": 100000})
                self.assertEqual(e.exception.code, "bad_request")
                self.assertIn("exceeds the frame limit", e.exception.message)
                self.assertEqual(len(c.call("tasks", {"job": job, "limit": 100})["tasks"]), 100)
            finally:
                c.call("cancel", {"job": blocker})

    def test_pipelined_requests_are_answered_in_order(self):
        with self.connect() as c:
            c.sock.sendall(b"".join(
                struct.pack(">I", len(b)) + b for b in
                (json.dumps({"id": f"r{i}", "method": m}).encode() for i, m in enumerate(["ping", "bogus", "list"]))))
            replies = [c.recv_message() for _ in range(3)]
            self.assertEqual([r["id"] for r in replies], ["r0", "r1", "r2"])
            self.assertIn("result", replies[0])
            self.assertEqual(replies[1]["error"]["code"], "bad_request")
            self.assertIn("jobs", replies[2]["result"])

    def test_half_closed_client_gets_its_replies(self):
        # Like `socat - UNIX-CONNECT:…` at the end of its input: requests, then shutdown(SHUT_WR).
        with self.connect() as c:
            for i in range(3):
                c.send_message({"id": i, "method": "ping"})
            c.sock.shutdown(socket.SHUT_WR)
            self.assertEqual([c.recv_message()["id"] for _ in range(3)], [0, 1, 2])
            with self.assertRaises(ConnectionClosed):
                c.recv_frame()
        self.assertServing()

    def test_half_closed_client_that_never_reads(self):
        with self.connect() as c:
            ping = json.dumps({"id": 1, "method": "ping"}).encode()
            c.sock.sendall((struct.pack(">I", len(ping)) + ping) * 50000)
            c.sock.shutdown(socket.SHUT_WR)
            self.assertServing()
        self.assertServing()

    # The handshake.

    def test_wrong_protocol_version(self):
        for params in ({"protocol": 2}, {"protocol": 0}, {"protocol": 3, "min_protocol": 2}):
            with self.connect(hello=False) as c:
                c.send_message({"id": 1, "method": "hello", "params": params})
                self.assertErrorThenClose(c, "unsupported_version", 1, "this server speaks version 1")
            self.assertServing()

    def test_mistyped_protocol_version(self):
        # Not a version this server lacks, but no version at all: the request is malformed.
        for params in ({"protocol": "1"}, {"protocol": None}, {}):
            with self.connect(hello=False) as c:
                c.send_message({"id": 1, "method": "hello", "params": params})
                self.assertErrorThenClose(c, "bad_request", 1, "hello: protocol: expected an integer")
            self.assertServing()

    def test_request_before_hello(self):
        with self.connect(hello=False) as c:
            c.send_message({"id": 5, "method": "status", "params": {"job": 1}})
            self.assertErrorThenClose(c, "bad_request", 5, "hello")
        self.assertServing()

    # Garbage on the socket: each must leave jrd serving.

    def test_random_bytes(self):
        rng = random.Random(20240611)
        for first in (None, 0):  # a random length prefix, then one below the limit
            junk = bytearray(rng.randbytes(1 << 20))
            if first is not None:
                junk[0] = first
            with self.raw() as s:
                try:
                    s.sendall(bytes(junk))
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                except OSError:
                    pass  # jrd closed on us: fine
            self.assertServing()

    def test_huge_length_prefix(self):
        with self.connect(hello=False) as c:
            c.sock.sendall(b"\xff\xff\xff\xff")
            self.assertErrorThenClose(c, "bad_request", None, "exceeds the limit")
        with self.connect() as c:
            c.sock.sendall(struct.pack(">I", MAX_FRAME_BYTES + 1))
            self.assertErrorThenClose(c, "bad_request", None, "exceeds the limit")
        self.assertServing()

    def test_largest_frame_is_accepted(self):
        with self.connect() as c:
            head, tail = b'{"id": 9, "method": "ping", "pad": "', b'"}'
            body = head + b"x" * (MAX_FRAME_BYTES - len(head) - len(tail)) + tail
            self.assertEqual(len(body), MAX_FRAME_BYTES)
            c.send_frame(body)
            reply = c.recv_message()
            self.assertEqual(reply["id"], 9)
            self.assertEqual(reply["result"]["pid"], self.jrd.proc.pid)

    def test_frame_cut_short_then_client_vanishes(self):
        body = json.dumps({"id": 1, "method": "hello", "params": {"protocol": 1}}).encode()
        for cut in (struct.pack(">I", len(body))[:2], struct.pack(">I", len(body)) + body[:10],
                    struct.pack(">I", 1000) + body):
            with self.raw() as s:
                s.sendall(cut)
            self.assertServing()

    def test_client_vanishes_before_its_reply(self):
        with self.connect() as c:
            c.send_message({"id": 1, "method": "list"})
        self.assertServing()

    def test_invalid_json(self):
        for body in (b"{nope", b"", b"[1, 2]", b'"method"', b'{"method": 7}', b'{"id": 1}',
                     b'{"method": "ping", "x": "\xff\xfe"}'):
            with self.connect() as c:
                c.send_frame(body)
                self.assertErrorThenClose(c, "bad_request", None, "not a request")
            self.assertServing()

    def test_deeply_nested_json(self):
        depth = 200000
        nested = b"[" * depth + b"]" * depth
        # jrd once copied and printed such ids and params recursively, and overflowed its stack.
        for body in (b'{"id": ' + nested + b', "method": "ping"}',
                     b'{"id": 1, "method": "status", "params": {"job": ' + nested + b'}}', nested):
            with self.connect() as c:
                c.send_frame(body)
                self.assertErrorThenClose(c, "bad_request", None, "nested deeper")
            self.assertServing()

    def test_client_that_never_reads(self):
        silent = self.connect(hello=False)  # connects, says nothing, reads nothing
        greedy = self.connect()
        ping = json.dumps({"id": 1, "method": "ping"}).encode()
        # Far more replies than the socket buffers hold: jrd must keep them without blocking.
        greedy.sock.sendall((struct.pack(">I", len(ping)) + ping) * 50000)
        try:
            for _ in range(20):
                self.assertServing()
            with self.connect() as other:
                job = other.call("submit", {"command": ["true"]})["job"]
                self.assertEqual(self.wait_job(other, job)["state"], "succeeded")
        finally:
            greedy.close()
            silent.close()
        self.assertServing()


def nobody_can_switch():
    if os.geteuid() != 0:
        return "needs root, to run a client as user nobody (setpriv)"
    if not shutil.which("setpriv"):
        return "setpriv (util-linux) is not installed"
    return None


# The client that runs as nobody: connects, reads one reply, prints what happened as JSON.
NOBODY_CLIENT = r"""
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(json.dumps({"connect_errno": e.errno})); sys.exit(0)
body = json.dumps({"id": 1, "method": "hello", "params": {"protocol": 1}}).encode()
try:
    s.sendall(struct.pack(">I", len(body)) + body)
except OSError:
    pass  # jrd may have closed already; its reply is still there to read
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break  # jrd closed with our hello unread; its reply came before
    if not chunk:
        break
    data += chunk
n = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else 0
print(json.dumps({"reply": json.loads(data[4:4 + n]) if n else None}))
"""


@unittest.skipIf(nobody_can_switch(), nobody_can_switch())
class PeerTest(unittest.TestCase):
    def run_as_nobody(self, socket_path):
        out = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
             "/usr/bin/python3", "-c", NOBODY_CLIENT, socket_path],
            capture_output=True, text=True, timeout=60, cwd="/")
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_socket_permissions_keep_other_users_out(self):
        jrd = Jrd()
        try:
            self.assertEqual(os.stat(jrd.socket).st_mode & 0o777, 0o600)
            self.assertEqual(os.stat(os.path.dirname(jrd.socket)).st_mode & 0o777, 0o700)
            result = self.run_as_nobody(jrd.socket)
            self.assertEqual(result, {"connect_errno": 13})  # EACCES
            self.assertNotIn("refused a connection", jrd.log())  # never got as far as jrd
            self.assertEqual(try_ping(jrd.socket), jrd.proc.pid)
        finally:
            self.assertEqual(jrd.stop(), 0)

    def test_peer_credentials_refuse_other_uids(self):
        # A socket the file system lets everyone reach: only SO_PEERCRED stands in the way.
        open_dir = tempfile.mkdtemp(prefix="jr-peer-")
        os.chmod(open_dir, 0o755)
        jrd = Jrd(socket_path=os.path.join(open_dir, "jrd.sock"))
        try:
            os.chmod(jrd.socket, 0o777)
            result = self.run_as_nobody(jrd.socket)
            reply = result.get("reply")
            self.assertIsNotNone(reply, result)
            self.assertIsNone(reply["id"])
            self.assertEqual(reply["error"]["code"], "conflict", reply)
            self.assertIn("permission denied", reply["error"]["message"])
            uid = pwd.getpwnam("nobody").pw_uid
            wait_for(lambda: f"refused a connection from uid {uid} " in jrd.log(), what="jrd to log the refusal")
            self.assertEqual(try_ping(jrd.socket), jrd.proc.pid)  # its own uid is still served
        finally:
            code = jrd.stop()
            shutil.rmtree(open_dir, ignore_errors=True)
            self.assertEqual(code, 0)


if __name__ == "__main__":
    main()
