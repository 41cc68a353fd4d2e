#!/usr/bin/python3
"""A client of jrd's socket protocol written from docs/protocol.md alone, and a test of jrd
against that document (issue 14). Neither the server's code nor another client was read to
write it: where jrd and the document disagree, this test asserts what the document says only
where the two agree, and the disagreements are listed in the commit that added it.

Usage: protocol_from_docs.py --jrd PATH [unittest arguments]
       protocol_from_docs.py task-save FILE…   (run by a task: checkpoint.save and result.save)
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

MAX_FRAME = 16 * 1024 * 1024
WAIT_BOUND_S = 120  # a bound on waiting for a state, only there to end a hung test

JOB_STATES = {"pending", "running", "paused", "succeeded", "failed", "cancelled"}
TASK_STATES = {"pending", "running", "succeeded", "failed", "interrupted", "cancelled", "dropped"}


# --- The client: framing, the envelope, the handshake. ---

class ProtocolError(Exception):
    """An error reply: `code` and `message` as jrd sent them."""

    def __init__(self, code, message, reply):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply


class Closed(Exception):
    """The server closed the stream (end of stream, or a reset)."""


def frame(body):
    return struct.pack(">I", len(body)) + body


def encode(message):
    return json.dumps(message).encode("utf-8")


class Connection:
    """One stream to jrd: frames out, frames in. Requests carry ids chosen here."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(WAIT_BOUND_S)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.next_id = 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, message):
        self.send_raw(frame(encode(message)))

    def _read_exactly(self, n):
        chunks = []
        while n > 0:
            try:
                chunk = self.sock.recv(min(n, 1 << 20))
            except ConnectionResetError:
                raise Closed("reset") from None
            if not chunk:
                raise Closed("end of stream")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        length, = struct.unpack(">I", self._read_exactly(4))
        return json.loads(self._read_exactly(length))

    def at_end(self):
        """True when the server has closed: the next read sees the end or a reset."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def request(self, method, params=None):
        """Sends one request and returns its result; an error reply raises ProtocolError."""
        request_id = self.next_id
        self.next_id += 1
        message = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        reply = self.receive()
        if reply.get("id") != request_id:
            raise AssertionError(f"reply to id {request_id} carries id {reply.get('id')!r}: {reply}")
        if "error" in reply:
            if "result" in reply:
                raise AssertionError(f"a reply with both result and error: {reply}")
            error = reply["error"]
            raise ProtocolError(error["code"], error["message"], reply)
        return reply["result"]

    def hello(self, protocol=1, min_protocol=None, client="protocol_from_docs"):
        params = {"protocol": protocol, "client": client}
        if min_protocol is not None:
            params["min_protocol"] = min_protocol
        return self.request("hello", params)


def connect(path):
    """A connection that has said hello at version 1."""
    connection = Connection(path)
    reply = connection.hello()
    if reply.get("protocol") != 1:
        raise AssertionError(f"hello chose {reply}")
    return connection


# --- Run by a task: saves a checkpoint and a result through $JR_SOCKET, prints the replies. ---

def task_save(files):
    """Writes each named file into $JR_CHECKPOINT_DIR, saves them as a checkpoint and the first
    as the result, and prints one JSON line per reply (the task's stdout log keeps them)."""
    directory = os.environ["JR_CHECKPOINT_DIR"]
    run = os.environ["JR_RUN"]
    with connect(os.environ["JR_SOCKET"]) as connection:
        for name in files:
            with open(os.path.join(directory, name), "w") as out:
                out.write(f"state of {name}\n")
        outcomes = []
        for method, params in (
                ("checkpoint.save", {"run": run, "files": files}),
                ("checkpoint.save", {"run": run}),
                ("checkpoint.save", {"run": run, "files": ["missing.txt"]}),
                ("checkpoint.save", {"run": run, "files": ["/etc/hostname"]}),
                ("result.save", {"run": run, "path": os.path.join(directory, files[0])}),
                ("result.save", {"run": run, "path": files[0]}),
                ("result.save", {"run": run, "path": os.path.join(directory, "missing.txt")})):
            try:
                outcomes.append({"method": method, "params": params,
                                 "result": connection.request(method, params)})
            except ProtocolError as error:
                outcomes.append({"method": method, "params": params,
                                 "error": {"code": error.code, "message": error.message}})
        print(json.dumps({"run": run, "outcomes": outcomes}))



# --- A jrd of the test's own. ---

def wait_for(what, probe):
    """Polls probe() until it returns something true, for at most WAIT_BOUND_S."""
    give_up = time.monotonic() + WAIT_BOUND_S
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


class Daemon:
    """jrd on a temporary state directory and socket, stopped with SIGTERM."""

    def __init__(self, jrd, root, *flags):
        self.jrd = jrd
        self.state = os.path.join(root, "state")
        self.socket = os.path.join(root, "jrd.sock")
        self.log = open(os.path.join(root, "jrd.log"), "ab")
        env = dict(os.environ)
        for name in list(env):  # nothing of the caller's decides the node's GPUs or the socket
            if name in ("XDG_RUNTIME_DIR", "CUDA_VISIBLE_DEVICES") or name.startswith("SLURM_"):
                del env[name]
        self.process = subprocess.Popen(
            [jrd, "--state", self.state, "--socket", self.socket, "--grace", "2s", *flags],
            stdout=self.log, stderr=self.log, env=env)
        wait_for("jrd to answer", self._answers)

    def _answers(self):
        if self.process.poll() is not None:
            raise AssertionError(f"jrd exited {self.process.returncode}")
        try:
            with connect(self.socket) as connection:
                return connection.request("ping")
        except (FileNotFoundError, ConnectionRefusedError):
            return None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(WAIT_BOUND_S)
        self.log.close()


JRD = None  # the jrd binary, from --jrd


def raw_reply(connection, body):
    """Sends one frame of raw bytes and returns the reply frame."""
    connection.send_raw(frame(body))
    return connection.receive()


def nested_request(levels):
    """A ping whose JSON is nested `levels` deep, the request object being level 1."""
    value = "[]"
    for _ in range(levels - 2):
        value = "[" + value + "]"
    return ('{"id": 1, "method": "ping", "pad": ' + value + "}").encode()


class DaemonTestCase(unittest.TestCase):
    """One jrd for the class; each test opens its own connections."""

    jrd_flags = ("--workers", "4", "--cores", "2")

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="jr-protocol-doc-")
        cls.daemon = Daemon(JRD, cls.root, *cls.jrd_flags)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def connect(self):
        connection = connect(self.daemon.socket)
        self.addCleanup(connection.close)
        return connection

    def raw_connection(self):
        connection = Connection(self.daemon.socket)
        self.addCleanup(connection.close)
        return connection

    def assertError(self, connection, method, params, code, message=None):
        """The request gets the error `code` (and `message`, when given); the connection
        stays open."""
        with self.assertRaises(ProtocolError, msg=f"{method} {params}") as caught:
            connection.request(method, params)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        if message is not None:
            self.assertEqual(caught.exception.message, message)
        self.assertIn("pid", connection.request("ping"))
        return caught.exception.message

    def assertTypeError(self, connection, method, params, param):
        """A mistyped parameter: bad_request naming the method and the parameter."""
        message = self.assertError(connection, method, params, "bad_request")
        self.assertTrue(message.startswith(f"{method}: {param}: expected "), message)
        return message

    def assertClosedAfter(self, connection, body, code, message=None, reply_id=None):
        """The frame `body` gets one error with `reply_id`, then the close."""
        reply = raw_reply(connection, body)
        self.assertEqual(reply["id"], reply_id, reply)
        self.assertNotIn("result", reply)
        self.assertEqual(reply["error"]["code"], code, reply)
        if message is not None:
            self.assertEqual(reply["error"]["message"], message)
        self.assertTrue(connection.at_end(), "the connection stayed open")

    def submit(self, connection, **params):
        return connection.request("submit", params)

    def status(self, connection, job):
        return connection.request("status", {"job": job})

    def task(self, connection, job, index):
        tasks = connection.request("tasks", {"job": job, "index": index})["tasks"]
        return [t for t in tasks if t["state"] != "dropped"][0]

    def wait_job(self, connection, job, *states):
        return wait_for(f"job {job} to be {states}", lambda: (
            lambda s: s if s["state"] in states else None)(self.status(connection, job)))

    def wait_task(self, connection, job, index, *states):
        return wait_for(f"task {job}:{index} to be {states}", lambda: (
            lambda t: t if t["state"] in states else None)(self.task(connection, job, index)))

    def job_count(self, connection):
        return len(connection.request("list")["jobs"])

    def assertJobObject(self, job):
        self.assertEqual(set(job), {"id", "name", "state", "created_ms", "parallelism", "priority",
                                    "after", "paused", "reason", "command", "total", "counts"})
        for field in ("id", "created_ms", "parallelism", "priority", "total"):
            self.assertIs(type(job[field]), int, field)
        self.assertIs(type(job["name"]), str)
        self.assertIs(type(job["reason"]), str)
        self.assertIs(type(job["paused"]), bool)
        self.assertIn(job["state"], JOB_STATES)
        self.assertTrue(job["after"] is None or type(job["after"]) is int)
        self.assertTrue(all(type(word) is str for word in job["command"]))
        self.assertEqual(set(job["counts"]), TASK_STATES)
        self.assertTrue(all(type(n) is int for n in job["counts"].values()))
        self.assertEqual(job["total"], sum(job["counts"].values()) - job["counts"]["dropped"])

    def assertTaskObject(self, task):
        self.assertEqual(set(task), {"id", "index", "state", "attempts", "exit_code", "signal",
                                     "start_ms", "end_ms", "argv", "detail", "stdout", "stderr"})
        for field in ("id", "index", "attempts"):
            self.assertIs(type(task[field]), int, field)
        for field in ("exit_code", "signal", "start_ms", "end_ms"):
            self.assertTrue(task[field] is None or type(task[field]) is int, field)
        self.assertIn(task["state"], TASK_STATES)
        self.assertTrue(all(type(word) is str for word in task["argv"]))
        for field in ("detail", "stdout", "stderr"):
            self.assertIs(type(task[field]), str, field)

    def assertEventObject(self, event):
        self.assertEqual(set(event), {"id", "ms", "task", "index", "from", "to", "attempt", "detail"})
        for field in ("id", "ms", "attempt"):
            self.assertIs(type(event[field]), int, field)
        self.assertIs(type(event["detail"]), str)
        if event["task"] is None:
            self.assertEqual((event["index"], event["from"], event["to"]), (None, None, None))
        else:
            self.assertIs(type(event["index"]), int)
            self.assertIn(event["from"], TASK_STATES)
            self.assertIn(event["to"], TASK_STATES)


class HandshakeTest(DaemonTestCase):
    """docs/protocol.md, "The handshake and versions" and "hello"."""

    def test_hello_example(self):
        connection = self.raw_connection()
        reply = raw_reply(connection, b'{"id": 1, "method": "hello", '
                                      b'"params": {"protocol": 1, "client": "example"}}')
        self.assertEqual(reply, {"id": 1, "result": {"protocol": 1, "server": "jr 0.1.0"}})
        self.assertIn("pid", connection.request("ping"))

    def test_hello_without_client_or_with_a_range(self):
        for params in ({"protocol": 1}, {"protocol": 1, "min_protocol": 1},
                       {"protocol": 3, "min_protocol": 1}, {"protocol": 1, "min_protocol": 0}):
            with Connection(self.daemon.socket) as connection:
                result = connection.request("hello", params)
                self.assertEqual(result["protocol"], 1, params)
                self.assertIs(type(result["server"]), str)

    def test_versions_that_do_not_meet(self):
        with Connection(self.daemon.socket) as connection:
            self.assertClosedAfter(
                connection,
                b'{"id": 1, "method": "hello", "params": {"protocol": 3, "min_protocol": 2}}',
                "unsupported_version",
                "protocol versions 2 to 3 are not spoken here: this server speaks version 1; "
                "upgrade the server or use an older client", reply_id=1)
        for params in ({"protocol": 2}, {"protocol": 0}):
            with Connection(self.daemon.socket) as connection:
                self.assertClosedAfter(connection, encode({"id": 4, "method": "hello", "params": params}),
                                       "unsupported_version", reply_id=4)

    def test_hello_that_does_not_type_check(self):
        with Connection(self.daemon.socket) as connection:
            self.assertClosedAfter(connection, b'{"id": 1, "method": "hello", "params": {"protocol": "1"}}',
                                   "bad_request", 'hello: protocol: expected an integer, got "1"', reply_id=1)
        for params in (b"{}", b'{"protocol": null}', b'{"protocol": 1.5}', b'{"protocol": 1.0}',
                       b'{"protocol": 1e0}', b'{"protocol": true}', b'{"protocol": 1, "min_protocol": 2}',
                       b'{"protocol": 1, "min_protocol": "1"}', b'{"protocol": 1, "client": 5}',
                       b'{"protocol": 9223372036854775808}'):
            with Connection(self.daemon.socket) as connection:
                self.assertClosedAfter(connection, b'{"id": 2, "method": "hello", "params": ' + params + b"}",
                                       "bad_request", reply_id=2)
        for params in (b"null", b"[]", b'"protocol"'):
            with Connection(self.daemon.socket) as connection:
                self.assertClosedAfter(connection, b'{"id": 3, "method": "hello", "params": ' + params + b"}",
                                       "bad_request", reply_id=3)

    def test_first_request_must_be_hello(self):
        for body, reply_id in ((b'{"id": 9, "method": "ping"}', 9), (b'{"method": "list"}', None),
                               (b'{"id": "a", "method": "bogus"}', "a")):
            with Connection(self.daemon.socket) as connection:
                self.assertClosedAfter(connection, body, "bad_request",
                                       'the first request must be "hello"', reply_id=reply_id)


class EnvelopeTest(DaemonTestCase):
    """docs/protocol.md, "Requests and replies"."""

    def test_the_id_comes_back_whatever_it_is(self):
        connection = self.connect()
        for request_id in (7, "seven", [7], {"n": 7}, 1.5, True):
            reply = raw_reply(connection, encode({"id": request_id, "method": "ping"}))
            self.assertEqual(reply["id"], request_id)
            self.assertIn("pid", reply["result"])
        self.assertEqual(raw_reply(connection, b'{"method": "ping"}')["id"], None)

    def test_params_absent_empty_or_with_unknown_keys(self):
        connection = self.connect()
        for body in (b'{"id": 1, "method": "ping"}', b'{"id": 1, "method": "ping", "params": {}}',
                     b'{"id": 1, "method": "ping", "params": {"unknown": [1, {"x": null}]}}'):
            self.assertIn("pid", raw_reply(connection, body)["result"])

    def test_params_that_are_not_an_object(self):
        connection = self.connect()
        for params in (b"null", b"[]", b'"job"', b"1"):
            reply = raw_reply(connection, b'{"id": 5, "method": "ping", "params": ' + params + b"}")
            self.assertEqual(reply["id"], 5)
            self.assertEqual(reply["error"]["code"], "bad_request", reply)
        self.assertIn("pid", connection.request("ping"))

    def test_unknown_method_example(self):
        connection = self.connect()
        reply = raw_reply(connection, b'{"id": 36, "method": "bogus"}')
        self.assertEqual(reply, {"error": {"code": "bad_request", "message": 'unknown method "bogus"'}, "id": 36})
        self.assertIn("pid", connection.request("ping"))

    def test_pipelined_requests_are_answered_in_order(self):
        connection = self.connect()
        requests = [{"id": 100, "method": "ping"}, {"id": 101, "method": "bogus"},
                    {"id": 102, "method": "status", "params": {"job": 999999}},
                    {"id": 103, "method": "list"}, {"id": 104, "method": "ping"}]
        connection.send_raw(b"".join(frame(encode(r)) for r in requests))
        replies = [connection.receive() for _ in requests]
        self.assertEqual([r["id"] for r in replies], [100, 101, 102, 103, 104])
        self.assertEqual([("result" in r, "error" in r) for r in replies],
                         [(True, False), (False, True), (False, True), (True, False), (True, False)])

    def test_shut_down_writing_after_the_last_request(self):
        connection = self.connect()
        for request_id in (1, 2, 3):
            connection.send({"id": request_id, "method": "ping"})
        connection.sock.shutdown(socket.SHUT_WR)
        self.assertEqual([connection.receive()["id"] for _ in range(3)], [1, 2, 3])
        self.assertTrue(connection.at_end())


class FramingTest(DaemonTestCase):
    """docs/protocol.md, "Framing"."""

    def test_a_frame_of_exactly_16_mib_is_read(self):
        connection = self.connect()
        head = b'{"id": 7, "method": "ping", "params": {"pad": "'
        body = head + b"x" * (MAX_FRAME - len(head) - 3) + b'"}}'
        self.assertEqual(len(body), MAX_FRAME)
        connection.send_raw(frame(body))
        self.assertIn("pid", connection.receive()["result"])

    def test_a_longer_frame_is_refused_and_closed(self):
        connection = self.connect()
        connection.send_raw(struct.pack(">I", MAX_FRAME + 1))
        reply = connection.receive()
        self.assertEqual(reply["id"], None)
        self.assertEqual(reply["error"]["code"], "bad_request")
        self.assertTrue(connection.at_end())

    def test_bodies_that_are_not_requests(self):
        for body in (b"nonsense", b"\xff\xfe", b'{"id": 1, "method": "ping", "params": {"a": "\xff"}}',
                     b"[1]", b'"ping"', b'{"id": 1}', b'{"id": 1, "method": 5}',
                     b'{"id": 1, "method": null}', b'{"id": 1, "method": "ping"} trailing'):
            connection = self.connect()
            self.assertClosedAfter(connection, body, "bad_request")

    def test_nesting_64_levels_is_accepted_65_refused(self):
        connection = self.connect()
        self.assertIn("pid", raw_reply(connection, nested_request(64))["result"])
        self.assertClosedAfter(connection, nested_request(65), "bad_request")
        connection = self.connect()
        empty_at_64 = "{}"
        for _ in range(62):
            empty_at_64 = '{"a": ' + empty_at_64 + "}"
        body = ('{"id": 1, "method": "ping", "params": ' + empty_at_64 + "}").encode()
        self.assertIn("pid", raw_reply(connection, body)["result"])
        self.assertClosedAfter(connection, body.replace(b"{}", b"{\"b\": []}"), "bad_request")

    def test_a_frame_in_pieces_blocks_no_one(self):
        slow = self.connect()
        body = encode({"id": 8, "method": "ping"})
        whole = frame(body)
        slow.send_raw(whole[:2])
        self.assertIn("pid", self.connect().request("ping"))
        slow.send_raw(whole[2:7])
        self.assertIn("pid", self.connect().request("ping"))
        slow.send_raw(whole[7:])
        self.assertEqual(slow.receive()["id"], 8)

    def test_a_client_vanishing_mid_frame_costs_only_its_connection(self):
        gone = self.connect()
        gone.send_raw(struct.pack(">I", 100) + b'{"id": 1, "meth')
        gone.close()
        self.assertIn("pid", self.connect().request("ping"))


class ReplyLimitTest(DaemonTestCase):
    """A reply over 16 MiB, and a client that leaves over 64 MiB unread."""

    def test_long_replies(self):
        connection = self.connect()
        gate = self.submit(connection, command=["sleep", "100000"])["job"]
        self.wait_task(connection, gate, 0, "running")
        # 1000 tasks of about 27 KB of argv each, waiting for the gate: `tasks` with its
        # default limit would answer about 27 MB.
        inputs = [["x" * 20 + "%04d" % i for i in range(1000)]]
        wide = self.submit(connection, command=["true"] + ["{1}"] * 1000, sources=inputs, after=gate)
        self.assertEqual(wide["tasks"], 1000)
        job = wide["job"]
        message = self.assertError(connection, "tasks", {"job": job}, "bad_request")
        self.assertIn("limit", message)
        self.assertEqual(len(connection.request("tasks", {"job": job, "limit": 10})["tasks"]), 10)

        greedy = self.raw_connection()
        greedy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        greedy.hello()
        for request_id in range(6):  # 6 replies of about 13.6 MB, none read
            greedy.send({"id": request_id, "method": "tasks", "params": {"job": job, "limit": 500}})
        self.assertIn("pid", self.connect().request("ping"))
        received = 0
        with self.assertRaises(Closed):
            while True:
                greedy.receive()
                received += 1
        self.assertLess(received, 6)

        self.assertEqual(connection.request("cancel", {"job": gate}), {"cancelled": 1})
        failed = self.wait_job(connection, job, "failed")
        self.assertEqual(failed["reason"], f"job {gate} it waits for did not succeed")
        self.assertEqual(failed["after"], gate)


INT32_MIN, INT32_MAX, INT64_MAX = -2**31, 2**31 - 1, 2**63 - 1

# submit's integer parameters with their documented ranges (docs/protocol.md, "submit").
SUBMIT_INTEGERS = {
    "parallelism": (1, INT32_MAX), "retries": (0, INT32_MAX), "timeout_ms": (0, INT64_MAX),
    "priority": (INT32_MIN, INT32_MAX), "after": (0, INT64_MAX), "cpus": (0, INT32_MAX),
    "gpus": (0, INT32_MAX), "mem": (0, INT64_MAX), "keep_checkpoints": (1, INT32_MAX),
    "max_checkpoint": (0, INT64_MAX), "max_result": (0, INT64_MAX),
    "stall_timeout_ms": (0, INT64_MAX), "expect_ms": (0, INT64_MAX),
    "shard_index": (0, INT64_MAX), "shard_count": (1, INT64_MAX),
}


class MethodsTest(DaemonTestCase):
    """Each method's happy path and documented errors (docs/protocol.md, "Methods")."""

    def test_ping(self):
        result = self.connect().request("ping")
        self.assertEqual(set(result), {"pid", "state_dir", "containment", "keeping"})
        self.assertEqual(result["pid"], self.daemon.process.pid)
        self.assertEqual(os.path.realpath(result["state_dir"]), os.path.realpath(self.daemon.state))
        containment = result["containment"]
        self.assertTrue(containment == "subreaper" or containment.startswith("cgroup /"), containment)

    def test_submit_integer_parameters_are_checked_against_their_ranges(self):
        connection = self.connect()
        jobs = self.job_count(connection)
        base = {"command": ["true"], "explain": True}
        for name, (low, high) in SUBMIT_INTEGERS.items():
            if name == "after":
                continue  # an `after` job must exist: below
            for good in (low, high):
                params = dict(base, **{name: good})
                if name == "shard_index":
                    params["shard_count"] = INT64_MAX
                if name in ("cpus", "gpus", "mem", "shard_index") and good == high:
                    # More than the node has, a shard not below the count, or a shard holding
                    # no task (jrd refuses that too; the document does not say so): refused,
                    # but not for the parameter's type.
                    message = self.assertError(connection, "submit", params, "bad_request")
                    self.assertNotIn(f"{name}: expected", message)
                    continue
                self.assertIn("explain", connection.request("submit", params), params)
            for bad in (low - 1, high + 1, 2**64, 1.5, "1", True, None, [1]):
                self.assertTypeError(connection, "submit", dict(base, **{name: bad}), name)
            message = self.assertTypeError(connection, "submit", dict(base, **{name: low - 1}), name)
            self.assertTrue(message.endswith(f", got {low - 1}"), message)
        for bad in (-1, 1.5, "1", None, 2**63):
            self.assertTypeError(connection, "submit", dict(base, after=bad), "after")
        self.assertEqual(self.job_count(connection), jobs)

    def test_submit_parallelism_example_error(self):
        connection = self.connect()
        reply = raw_reply(connection, b'{"id": 5, "method": "submit", '
                                      b'"params": {"command": ["true"], "parallelism": 1.5}}')
        self.assertEqual(reply, {"error": {"code": "bad_request", "message":
                                 "submit: parallelism: expected an integer from 1 to 2147483647, got 1.5"},
                                 "id": 5})

    def test_submit_other_types_are_checked(self):
        connection = self.connect()
        jobs = self.job_count(connection)
        base = {"command": ["true"]}
        for name, bad in (("command", "true"), ("command", ["true", 1]), ("command", None),
                          ("sources", [["a"], "b"]), ("sources", ["a"]), ("sources", [[1]]),
                          ("tasks", "true"), ("tasks", [["true"]]), ("name", 1), ("name", None),
                          ("cwd", ["/"]), ("env", {"A": 1}), ("env", ["A=1"]), ("shell", 1),
                          ("shell", "true"), ("explain", 0), ("output", 1), ("stall_action", 1),
                          ("on_finish", ["true"])):
            self.assertTypeError(connection, "submit", dict(base, **{name: bad}), name)
        self.assertEqual(self.job_count(connection), jobs)

    def test_submit_refusals_create_nothing(self):
        connection = self.connect()
        jobs = self.job_count(connection)
        not_executable = os.path.join(self.root, "not-executable")
        with open(not_executable, "w") as out:
            out.write("true\n")
        os.chmod(not_executable, 0o644)
        for params in ({}, {"name": "x"}, {"command": []}, {"tasks": []},
                       {"command": ["echo", "{}"], "sources": [["a"], []]},
                       {"command": ["echo", "{}"], "sources": [["a"]], "output": "{}.out"},
                       {"command": ["true"], "stall_action": "ignore"},
                       {"command": ["true"], "shard_index": 2, "shard_count": 2},
                       {"command": ["true"], "cpus": 3},
                       {"command": ["true"], "gpus": 1},
                       {"command": ["true"], "mem": INT64_MAX},
                       {"command": ["echo", "{= $_ =}"], "sources": [["a"]]},
                       {"command": ["echo", "{3}"], "sources": [["a"], ["b"]]},
                       {"command": [not_executable]},
                       {"command": ["echo {} > out"], "sources": [["a"]]},
                       {"tasks": ["true"], "output": "{}.out"}):
            self.assertError(connection, "submit", params, "bad_request")
            self.assertError(connection, "submit", dict(params, explain=True), "bad_request")
        self.assertError(connection, "submit", {"command": ["no-such-program", "{}"], "sources": [["a"]]},
                         "bad_request", "command not found: no-such-program (not on PATH)")
        self.assertError(connection, "submit", {"command": ["true"], "after": 999999}, "not_found")
        self.assertEqual(self.job_count(connection), jobs)

    def test_submit_command_and_sources(self):
        connection = self.connect()
        result = self.submit(connection, name="product", command=["echo", "{1}", "{2}"],
                             sources=[["a", "b"], ["1", "2", "2"]], parallelism=3)
        self.assertEqual(set(result), {"job", "tasks"})
        self.assertEqual(result["tasks"], 6)
        job = self.wait_job(connection, result["job"], "succeeded")
        self.assertJobObject(job)
        self.assertEqual((job["name"], job["parallelism"], job["command"], job["total"]),
                         ("product", 3, ["echo", "{1}", "{2}"], 6))
        tasks = connection.request("tasks", {"job": result["job"]})["tasks"]
        self.assertEqual([t["argv"] for t in tasks],
                         [["echo", a, n] for a in ("a", "b") for n in ("1", "2", "2")])
        self.assertEqual([t["index"] for t in tasks], list(range(6)))
        for task in tasks:
            self.assertTaskObject(task)
            self.assertEqual((task["state"], task["exit_code"], task["signal"], task["attempts"]),
                             ("succeeded", 0, None, 1))
        with open(tasks[3]["stdout"]) as out:
            self.assertEqual(out.read(), "b 1\n")

    def test_submit_without_sources_runs_once_as_written(self):
        connection = self.connect()
        result = self.submit(connection, command=["echo", "{}"])
        self.assertEqual(result["tasks"], 1)
        task = self.wait_task(connection, result["job"], 0, "succeeded")
        self.assertEqual(task["argv"], ["echo", "{}"])
        for params in ({"command": ["echo", "{}"], "sources": []}, {"command": ["echo", "{}"], "tasks": []}):
            self.assertEqual(self.submit(connection, **params)["tasks"], 1, params)

    def test_submit_tasks_ignore_command_and_sources(self):
        connection = self.connect()
        result = self.submit(connection, tasks=["echo one", "echo two", "echo two"],
                             command=["no-such-program"], sources=[["a", "b"]])
        self.assertEqual(result["tasks"], 3)
        self.wait_job(connection, result["job"], "succeeded")
        self.assertEqual(self.status(connection, result["job"])["command"], [])
        tasks = connection.request("tasks", {"job": result["job"]})["tasks"]
        self.assertEqual([t["argv"] for t in tasks],
                         [["/bin/sh", "-c", line] for line in ("echo one", "echo two", "echo two")])

    def test_submit_env_cwd_shell(self):
        connection = self.connect()
        work = tempfile.mkdtemp(prefix="cwd-", dir=self.root)
        result = self.submit(connection, command=["sh", "-c", 'echo "$MODE $(pwd) $0"', "{}"],
                             sources=[["x y"]], env={"MODE": "fast"}, cwd=work)
        self.wait_job(connection, result["job"], "succeeded")
        with open(self.task(connection, result["job"], 0)["stdout"]) as out:
            self.assertEqual(out.read(), f"fast {work} x y\n")
        shelled = self.submit(connection, command=["echo {} | tr a-z A-Z"], sources=[["a;b"]], shell=True)
        self.wait_job(connection, shelled["job"], "succeeded")
        with open(self.task(connection, shelled["job"], 0)["stdout"]) as out:
            self.assertEqual(out.read(), "A;B\n")
        default_cwd = self.submit(connection, command=["pwd"])
        self.wait_job(connection, default_cwd["job"], "succeeded")
        with open(self.task(connection, default_cwd["job"], 0)["stdout"]) as out:
            self.assertEqual(out.read(), "/\n")

    def test_submit_retries_and_timeout(self):
        connection = self.connect()
        failing = self.submit(connection, tasks=["exit 3"], retries=2)
        task = self.wait_task(connection, failing["job"], 0, "failed")
        self.assertEqual((task["attempts"], task["exit_code"], task["signal"]), (3, 3, None))
        self.assertEqual(self.status(connection, failing["job"])["state"], "failed")
        slow = self.submit(connection, command=["sleep", "1000"], timeout_ms=100)
        task = self.wait_task(connection, slow["job"], 0, "failed")
        self.assertEqual(task["exit_code"], None)
        self.assertEqual(task["signal"], signal.SIGTERM)
        self.assertTrue(task["detail"].startswith("timed out"), task["detail"])

    def test_submit_output_shard_on_finish(self):
        connection = self.connect()
        work = tempfile.mkdtemp(prefix="out-", dir=self.root)
        written = self.submit(connection, command=["sh", "-c", 'echo "$1" > "$0"', "{out}", "{}"],
                              sources=[["a", "b"]], output="{}.txt", cwd=work)
        self.wait_job(connection, written["job"], "succeeded")
        with open(os.path.join(work, "b.txt")) as out:
            self.assertEqual(out.read(), "b\n")

        sharded = self.submit(connection, command=["echo", "{}"], sources=[list("abcde")],
                              shard_index=1, shard_count=2)
        self.assertEqual(sharded["tasks"], 2)
        tasks = connection.request("tasks", {"job": sharded["job"]})["tasks"]
        self.assertEqual([t["argv"] for t in tasks], [["echo", "b"], ["echo", "d"]])

        hook = self.submit(connection, tasks=["true", "exit 1"], cwd=work,
                           on_finish='env | grep ^JR_ | sort > hook.tmp && mv hook.tmp hook.env')
        self.wait_job(connection, hook["job"], "failed")
        hook_file = os.path.join(work, "hook.env")
        wait_for("the on_finish hook", lambda: os.path.exists(hook_file))
        with open(hook_file) as out:
            seen = dict(line.rstrip("\n").split("=", 1) for line in out)
        self.assertEqual({k: seen.get(k) for k in ("JR_JOB_ID", "JR_JOB_STATE", "JR_TOTAL", "JR_SUCCEEDED",
                                                    "JR_FAILED", "JR_CANCELLED")},
                         {"JR_JOB_ID": str(hook["job"]), "JR_JOB_STATE": "failed", "JR_TOTAL": "2",
                          "JR_SUCCEEDED": "1", "JR_FAILED": "1", "JR_CANCELLED": "0"})

    def test_submit_explain_creates_nothing(self):
        connection = self.connect()
        named = self.submit(connection, name="explained", command=["true"])
        jobs = self.job_count(connection)
        result = self.submit(connection, name="explained", command=["echo", "{}"],
                             sources=[[str(i) for i in range(1001)]], cpus=1, explain=True)
        self.assertEqual(set(result), {"explain"})
        explain = result["explain"]
        self.assertEqual(explain["summary"], {"total": 1001, "new": 1001, "skip": 0, "resume": 0, "run": 0,
                                              "retry": 0, "keep_failed": 0, "dropped": 0, "adopt": 0})
        self.assertEqual(len(explain["tasks"]), 1000)
        self.assertEqual(explain["tasks"][7], {"index": 7, "action": "new", "task": None, "argv": ["echo", "7"]})
        self.assertEqual(explain["tasks_not_listed"], 1)
        self.assertEqual(explain["resources"], {"cpus": 1, "gpus": 0, "mem": 0})
        self.assertEqual(explain["containment"], connection.request("ping")["containment"])
        self.assertEqual(explain["containment_fallback"] if explain["containment"] == "subreaper" else "",
                         explain.get("containment_fallback", ""))
        self.assertEqual([entry["job"] for entry in explain["same_name"]], [named["job"]])
        self.assertIn(explain["same_name"][0]["state"], JOB_STATES)
        self.assertEqual(self.job_count(connection), jobs)

    def test_status_and_list(self):
        connection = self.connect()
        first = self.submit(connection, name="twice", command=["true"], priority=-3)["job"]
        second = self.submit(connection, name="twice", command=["false"], after=first)["job"]
        self.assertEqual(connection.request("status", {"name": "twice"})["id"], second)
        self.assertEqual(connection.request("status", {"job": first, "name": "twice"})["id"], first)
        self.assertEqual(connection.request("status", {"job": first, "name": "no such name"})["id"], first)
        done = self.wait_job(connection, second, "failed")
        self.assertJobObject(done)
        self.assertEqual((done["after"], done["priority"], done["reason"]), (first, 0, ""))
        self.assertEqual(self.status(connection, first)["priority"], -3)
        self.assertError(connection, "status", {"job": 999999}, "not_found", "no job 999999")
        self.assertError(connection, "status", {"name": "no such name"}, "not_found")
        self.assertError(connection, "status", {}, "bad_request")
        for bad in (0, -1, 1.5, 1.0, "1", True, None, 2**63):
            self.assertTypeError(connection, "status", {"job": bad}, "job")
        self.assertTypeError(connection, "status", {"name": 1}, "name")
        reply = raw_reply(connection, b'{"id": 1, "method": "status", "params": {"job": 1e0}}')
        self.assertEqual(reply["error"]["code"], "bad_request")

        jobs = connection.request("list")["jobs"]
        self.assertEqual([j["id"] for j in jobs], sorted(j["id"] for j in jobs))
        for job in jobs:
            self.assertJobObject(job)
        self.assertEqual(connection.request("list", {})["jobs"], jobs)
        for state in JOB_STATES:
            listed = connection.request("list", {"state": state})["jobs"]
            self.assertTrue(all(j["state"] == state for j in listed), state)
        self.assertIn(second, [j["id"] for j in connection.request("list", {"state": "failed"})["jobs"]])
        for bad in ("", "dropped", "interrupted", "SUCCEEDED", "bogus"):
            self.assertError(connection, "list", {"state": bad}, "bad_request")
        self.assertTypeError(connection, "list", {"state": 1}, "state")
        self.assertError(connection, "tasks", {"job": first, "state": ""}, "bad_request")
        self.assertTypeError(connection, "list", {"state": None}, "state")

    def test_tasks(self):
        connection = self.connect()
        job = self.submit(connection, command=["sh", "-c", "exit $0", "{}"],
                          sources=[["0", "3", "0", "4", "0"]], parallelism=5)["job"]
        self.wait_job(connection, job, "failed")
        tasks = connection.request("tasks", {"job": job})["tasks"]
        self.assertEqual([t["index"] for t in tasks], [0, 1, 2, 3, 4])
        for task in tasks:
            self.assertTaskObject(task)
            self.assertLessEqual(task["start_ms"], task["end_ms"])
            self.assertEqual(task["detail"], "")
        self.assertEqual([t["exit_code"] for t in tasks], [0, 3, 0, 4, 0])
        self.assertEqual(len({t["id"] for t in tasks}), 5)
        failed = connection.request("tasks", {"job": job, "state": "failed"})["tasks"]
        self.assertEqual([t["index"] for t in failed], [1, 3])
        self.assertEqual(connection.request("tasks", {"job": job, "index": 3})["tasks"], [tasks[3]])
        self.assertEqual(connection.request("tasks", {"job": job, "index": 3, "state": "failed"})["tasks"],
                         [tasks[3]])
        self.assertError(connection, "tasks", {"job": job, "index": 2, "state": "failed"}, "not_found")
        self.assertError(connection, "tasks", {"job": job, "index": 5}, "not_found")
        self.assertEqual(connection.request("tasks", {"job": job, "offset": 1, "limit": 2})["tasks"], tasks[1:3])
        self.assertEqual(connection.request("tasks", {"job": job, "offset": 4})["tasks"], tasks[4:])
        self.assertEqual(connection.request("tasks", {"job": job, "offset": 9})["tasks"], [])
        self.assertEqual(connection.request("tasks", {"job": job, "limit": 0})["tasks"], [])
        self.assertEqual(connection.request("tasks", {"job": job, "state": "failed", "offset": 1})["tasks"],
                         [tasks[3]])
        self.assertEqual(connection.request("tasks", {"name": "", "job": job})["tasks"], tasks)
        for state in TASK_STATES:
            listed = connection.request("tasks", {"job": job, "state": state})["tasks"]
            self.assertTrue(all(t["state"] == state for t in listed), state)
        self.assertError(connection, "tasks", {"job": 999999}, "not_found")
        self.assertError(connection, "tasks", {}, "bad_request")
        self.assertError(connection, "tasks", {"job": job, "state": "paused"}, "bad_request")
        for name, bad in (("job", 0), ("index", -1), ("offset", -1), ("limit", -1), ("index", "1"),
                          ("limit", 1.5), ("state", 1), ("job", None), ("offset", 2**64)):
            self.assertTypeError(connection, "tasks", dict({"job": job}, **{name: bad}), name)

    def test_events(self):
        connection = self.connect()
        job = self.submit(connection, command=["sh", "-c", "exit $0", "{}"], sources=[["0", "1"]])["job"]
        self.wait_job(connection, job, "failed")
        events = connection.request("events", {"job": job})["events"]
        for event in events:
            self.assertEventObject(event)
        self.assertEqual([e["id"] for e in events], sorted(e["id"] for e in events))
        self.assertEqual((events[0]["task"], events[0]["attempt"], events[0]["detail"]), (None, 0, "job created"))
        transitions = [(e["index"], e["from"], e["to"]) for e in events if e["task"] is not None]
        for expected in ((0, "pending", "running"), (0, "running", "succeeded"),
                         (1, "pending", "running"), (1, "running", "failed")):
            self.assertIn(expected, transitions)
        self.assertEqual(connection.request("events", {"job": job, "limit": 2})["events"], events[:2])
        self.assertEqual(connection.request("events", {"job": job, "after": events[1]["id"]})["events"], events[2:])
        self.assertEqual(connection.request("events", {"job": job, "after": events[-1]["id"]})["events"], [])
        self.assertEqual(connection.request("events", {"job": job, "limit": 0})["events"], [])
        self.assertError(connection, "events", {"job": 999999}, "not_found")
        self.assertError(connection, "events", {}, "bad_request")
        for name, bad in (("job", 0), ("after", -1), ("limit", -1), ("after", "1"), ("limit", None)):
            self.assertTypeError(connection, "events", dict({"job": job}, **{name: bad}), name)

    def test_cancel(self):
        connection = self.connect()
        job = self.submit(connection, command=["sleep", "{}"], sources=[["1000", "1001", "1002"]])["job"]
        self.wait_task(connection, job, 0, "running")
        self.assertEqual(connection.request("cancel", {"job": job, "index": 2}), {"cancelled": 1})
        self.assertEqual(self.task(connection, job, 2)["state"], "cancelled")
        self.assertEqual(connection.request("cancel", {"job": job, "index": 2}), {"cancelled": 0})
        self.assertError(connection, "cancel", {"job": job, "index": 3}, "not_found")
        self.assertEqual(connection.request("cancel", {"job": job}), {"cancelled": 2})
        self.assertEqual(self.task(connection, job, 1)["state"], "cancelled")
        task = self.wait_task(connection, job, 0, "cancelled")
        self.assertEqual(task["signal"], signal.SIGTERM)
        cancelled = self.wait_job(connection, job, "cancelled")
        self.assertEqual(cancelled["counts"]["cancelled"], 3)
        self.assertEqual(connection.request("cancel", {"job": job}), {"cancelled": 0})
        # A job that has ended has nothing to cancel: it stays as it ended.
        done = self.submit(connection, command=["true"], sources=[["1"]])["job"]
        self.wait_job(connection, done, "succeeded")
        self.assertEqual(connection.request("cancel", {"job": done}), {"cancelled": 0})
        ended = self.status(connection, done)
        self.assertEqual((ended["state"], ended["reason"]), ("succeeded", ""))
        self.assertError(connection, "cancel", {"job": 999999}, "not_found")
        self.assertError(connection, "cancel", {}, "bad_request")
        for name, bad in (("job", 0), ("index", -1), ("index", "0"), ("job", 1.5)):
            self.assertTypeError(connection, "cancel", dict({"job": job}, **{name: bad}), name)

    def test_pause_and_resume(self):
        connection = self.connect()
        job = self.submit(connection, name="pausable", command=["sleep", "{}"],
                          sources=[["1000", "1001"]])["job"]
        self.wait_task(connection, job, 0, "running")
        self.assertEqual(connection.request("pause", {"name": "pausable"}), {"paused": True})
        paused = self.status(connection, job)
        self.assertEqual((paused["paused"], paused["state"]), (True, "paused"))
        self.assertEqual(connection.request("cancel", {"job": job, "index": 0}), {"cancelled": 1})
        self.wait_task(connection, job, 0, "cancelled")
        self.assertEqual(self.task(connection, job, 1)["state"], "pending")
        self.assertEqual(connection.request("pause", {"job": job}), {"paused": True})
        self.assertEqual(connection.request("resume", {"job": job}), {"paused": False})
        self.assertEqual(self.status(connection, job)["paused"], False)
        self.wait_task(connection, job, 1, "running")
        self.assertEqual(connection.request("resume", {"job": job}), {"paused": False})
        connection.request("cancel", {"job": job})
        for method in ("pause", "resume"):
            self.assertError(connection, method, {"job": 999999}, "not_found")
            self.assertError(connection, method, {}, "bad_request")
            self.assertTypeError(connection, method, {"job": "1"}, "job")
            self.assertTypeError(connection, method, {"name": ["x"]}, "name")

    def test_retry(self):
        connection = self.connect()
        marker = os.path.join(tempfile.mkdtemp(prefix="retry-", dir=self.root), "second")
        job = self.submit(connection, command=["sh", "-c", 'test -e "$0" || { touch "$0"; exit 1; }', marker],
                          retries=0)["job"]
        self.wait_job(connection, job, "failed")
        self.assertEqual(connection.request("retry", {"job": job, "failed_only": True}), {"requeued": 1})
        done = self.wait_job(connection, job, "succeeded")
        self.assertEqual(done["counts"]["succeeded"], 1)
        self.assertEqual(connection.request("retry", {"job": job}), {"requeued": 0})

        cancelled = self.submit(connection, tasks=["sleep 1000", "exit 2"], parallelism=2)["job"]
        self.wait_task(connection, cancelled, 1, "failed")
        self.assertEqual(connection.request("cancel", {"job": cancelled}), {"cancelled": 1})
        self.wait_task(connection, cancelled, 0, "cancelled")
        # The job is now `failed` (a task failed), with the reason "cancelled by request".
        self.assertEqual(connection.request("retry", {"job": cancelled, "failed_only": True}), {"requeued": 1})
        self.assertEqual(self.task(connection, cancelled, 0)["state"], "cancelled")
        self.wait_task(connection, cancelled, 1, "failed")
        self.assertEqual(connection.request("retry", {"job": cancelled}), {"requeued": 2})
        self.wait_task(connection, cancelled, 0, "running")
        self.assertNotEqual(self.status(connection, cancelled)["state"], "cancelled")
        connection.request("cancel", {"job": cancelled})
        self.assertError(connection, "retry", {"job": 999999}, "not_found")
        self.assertError(connection, "retry", {}, "bad_request")
        self.assertTypeError(connection, "retry", {"job": job, "failed_only": 1}, "failed_only")
        self.assertTypeError(connection, "retry", {"job": job, "failed_only": None}, "failed_only")

    def test_checkpoint_and_result_save_from_a_task(self):
        connection = self.connect()
        job = self.submit(connection, command=["/usr/bin/python3", os.path.abspath(__file__), "task-save",
                                               "state.txt", "other.txt"])["job"]
        task = self.wait_task(connection, job, 0, "succeeded", "failed")
        self.assertEqual(task["state"], "succeeded", task)
        with open(task["stdout"]) as out:
            report = json.loads(out.read())
        run = report["run"]
        outcomes = report["outcomes"]
        self.assertEqual(run.split(".")[1:], [str(task["id"]), "1"])
        first, everything, missing, outside, result, relative, missing_result = outcomes
        self.assertEqual(first["result"]["seq"], 1, first)
        self.assertEqual(first["result"]["attempt"], 1)
        self.assertIs(type(first["result"]["size"]), int)
        self.assertEqual(set(first["result"]), {"seq", "size", "attempt"})
        self.assertEqual(everything["result"]["seq"], 2, everything)
        self.assertEqual(missing["error"]["code"], "not_found", missing)
        self.assertEqual(outside["error"]["code"], "bad_request", outside)
        self.assertEqual(result, dict(result, result={}))
        # `path` is "an absolute path of the file": a relative one is refused, never read from
        # wherever jrd runs.
        self.assertEqual(relative["error"]["code"], "bad_request", relative)
        # The error table: `not_found` for no such task attempt or file.
        self.assertEqual(missing_result["error"]["code"], "not_found", missing_result)
        self.assertError(connection, "result.save", {"run": "bogus.1.1", "path": "/etc/hostname"}, "not_found")
        # Once the attempt has ended, its run is no longer running in this engine.
        self.assertError(connection, "checkpoint.save", {"run": run}, "not_found")
        self.assertError(connection, "checkpoint.save", {"run": "bogus.1.1", "files": []}, "not_found",
                         "no running task attempt bogus.1.1 in this engine")
        self.assertError(connection, "checkpoint.save", {}, "bad_request")
        self.assertTypeError(connection, "checkpoint.save", {"run": 1}, "run")
        self.assertTypeError(connection, "checkpoint.save", {"run": "bogus.1.1", "files": "a"}, "files")
        self.assertTypeError(connection, "checkpoint.save", {"run": "bogus.1.1", "files": [1]}, "files")
        self.assertError(connection, "result.save", {"run": "bogus.1.1"}, "bad_request")
        self.assertError(connection, "result.save", {"path": "/etc/hostname"}, "bad_request")
        self.assertTypeError(connection, "result.save", {"run": "bogus.1.1", "path": 1}, "path")

    def test_max_checkpoint(self):
        connection = self.connect()
        job = self.submit(connection, command=["/usr/bin/python3", os.path.abspath(__file__), "task-save",
                                               "state.txt"], max_checkpoint=1, max_result=1)["job"]
        task = self.wait_task(connection, job, 0, "succeeded", "failed")
        with open(task["stdout"]) as out:
            outcomes = json.loads(out.read())["outcomes"]
        self.assertEqual(outcomes[0]["error"]["code"], "bad_request", outcomes[0])
        self.assertEqual(outcomes[1]["error"]["code"], "bad_request", outcomes[1])


class OneWorkerTest(DaemonTestCase):
    """With one worker, what waits and in which order it starts."""

    jrd_flags = ("--workers", "1")

    def test_priority_then_age_and_default_limit(self):
        connection = self.connect()
        work = tempfile.mkdtemp(prefix="order-", dir=self.root)
        gate = self.submit(connection, command=["sleep", "100000"])["job"]
        self.wait_task(connection, gate, 0, "running")
        jobs = {}
        for name, priority in (("low", -1), ("default", None), ("high", 7), ("high-later", 7)):
            params = {"name": name, "tasks": [f"echo {name} >> order"], "cwd": work}
            if priority is not None:
                params["priority"] = priority
            jobs[name] = self.submit(connection, **params)["job"]
        waiting = self.submit(connection, command=["echo", "{}"], sources=[[str(i) for i in range(1001)]],
                              after=gate)["job"]
        self.assertEqual(self.status(connection, waiting)["state"], "pending")
        self.assertEqual(len(connection.request("tasks", {"job": waiting})["tasks"]), 1000)
        self.assertEqual([t["index"] for t in connection.request("tasks", {"job": waiting, "offset": 999})["tasks"]],
                         [999, 1000])
        self.assertEqual(connection.request("cancel", {"job": gate}), {"cancelled": 1})
        for job in jobs.values():
            self.wait_job(connection, job, "succeeded")
        with open(os.path.join(work, "order")) as order:
            self.assertEqual(order.read().split(), ["high", "high-later", "default", "low"])
        self.assertEqual(self.wait_job(connection, waiting, "failed")["reason"],
                         f"job {gate} it waits for did not succeed")


PEER_CLIENT = r"""
import json, socket, struct, sys
peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
peer.settimeout(120)
peer.connect(sys.argv[1])
data = b""
while True:
    try:
        chunk = peer.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
length, = struct.unpack(">I", data[:4])
print(json.dumps({"reply": json.loads(data[4:4 + length]), "after": len(data) - 4 - length}))
"""


class PeerTest(DaemonTestCase):
    """Only the daemon's own uid and root may connect: another gets one error frame, unasked,
    then the close. Needs root, to run a client as nobody."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root to run a client as another user")
        super().setUpClass()

    def test_another_uid_is_refused_before_it_sends_anything(self):
        os.chmod(self.root, 0o755)
        os.chmod(self.daemon.socket, 0o666)
        peer = subprocess.run(["/usr/bin/python3", "-c", PEER_CLIENT, self.daemon.socket], user=65534,
                              group=65534, capture_output=True, text=True, timeout=WAIT_BOUND_S)
        self.assertEqual(peer.returncode, 0, peer.stderr)
        self.assertEqual(json.loads(peer.stdout),
                         {"reply": {"error": {"code": "conflict",
                                              "message": "permission denied: this jrd serves uid 0 only"},
                                    "id": None},
                          "after": 0})
        self.assertIn("pid", self.connect().request("ping"))


class ExamplesTest(DaemonTestCase):
    """The examples of docs/protocol.md, replayed in their order on a fresh jrd, so that job and
    task ids come out as printed. Times, pids and paths differ from the document's run."""

    def exchange(self, connection, request):
        return raw_reply(connection, encode(request))

    def test_examples_in_order(self):
        connection = self.raw_connection()
        self.assertEqual(self.exchange(connection, {"id": 1, "method": "hello",
                                                    "params": {"protocol": 1, "client": "example"}}),
                         {"id": 1, "result": {"protocol": 1, "server": "jr 0.1.0"}})
        ping = self.exchange(connection, {"id": 2, "method": "ping"})
        self.assertEqual((ping["id"], set(ping["result"])), (2, {"pid", "state_dir", "containment", "keeping"}))

        self.assertEqual(self.exchange(connection, {"id": 3, "method": "submit", "params": {
            "name": "demo", "command": ["echo", "{}"], "sources": [["a", "b"]], "parallelism": 2}}),
            {"id": 3, "result": {"job": 1, "tasks": 2}})
        self.wait_job(connection, 1, "succeeded")

        status = self.exchange(connection, {"id": 6, "method": "status", "params": {"job": 1}})
        created_ms = status["result"]["created_ms"]
        self.assertIs(type(created_ms), int)
        demo = {"after": None, "command": ["echo", "{}"],
                "counts": {"cancelled": 0, "dropped": 0, "failed": 0, "interrupted": 0, "pending": 0,
                           "running": 0, "succeeded": 2},
                "created_ms": created_ms, "id": 1, "name": "demo", "parallelism": 2, "paused": False,
                "priority": 0, "reason": "", "state": "succeeded", "total": 2}
        self.assertEqual(status, {"id": 6, "result": demo})

        self.assertEqual(self.exchange(connection, {"id": 8, "method": "list", "params": {"state": "succeeded"}}),
                         {"id": 8, "result": {"jobs": [demo]}})

        events = self.exchange(connection, {"id": 11, "method": "events", "params": {"job": 1, "limit": 3}})
        self.assertEqual(events["id"], 11)
        events = events["result"]["events"]
        self.assertEqual([e["id"] for e in events], [1, 2, 3])
        self.assertEqual(dict(events[0], ms=0), {"attempt": 0, "detail": "job created", "from": None, "id": 1,
                                                  "index": None, "ms": 0, "task": None, "to": None})
        self.assertEqual(dict(events[1], ms=0), {"attempt": 1, "detail": "", "from": "pending", "id": 2,
                                                  "index": 0, "ms": 0, "task": 1, "to": "running"})
        # The third is task 2's start, as printed, or task 1's end: parallelism 2 does not say
        # which comes first.
        self.assertIn((events[2]["task"], events[2]["from"], events[2]["to"]),
                      [(2, "pending", "running"), (1, "running", "succeeded")])

        self.assertEqual(self.exchange(connection, {"id": 13, "method": "status", "params": {"job": 99}}),
                         {"error": {"code": "not_found", "message": "no job 99"}, "id": 13})

        # Job 2, whose task at index 1 (task id 4) runs `sh -c "exit 3"`.
        self.assertEqual(self.exchange(connection, {"id": 14, "method": "submit", "params": {
            "command": ["sh", "-c", "{}"], "sources": [["exit 0", "exit 3"]]}}),
            {"id": 14, "result": {"job": 2, "tasks": 2}})
        self.wait_job(connection, 2, "failed")
        tasks = self.exchange(connection, {"id": 17, "method": "tasks", "params": {
            "job": 2, "state": "failed", "offset": 0, "limit": 10}})
        self.assertEqual(tasks["id"], 17)
        [failed] = tasks["result"]["tasks"]
        logs = os.path.join(self.daemon.state, "logs")
        self.assertEqual(dict(failed, start_ms=0, end_ms=0),
                         {"argv": ["sh", "-c", "exit 3"], "attempts": 1, "detail": "", "end_ms": 0, "exit_code": 3,
                          "id": 4, "index": 1, "signal": None, "start_ms": 0, "state": "failed",
                          "stderr": os.path.join(logs, "4.err"), "stdout": os.path.join(logs, "4.out")})
        self.assertLessEqual(failed["start_ms"], failed["end_ms"])

        self.assertEqual(self.exchange(connection, {"id": 18, "method": "retry",
                                                    "params": {"job": 2, "failed_only": True}}),
                         {"id": 18, "result": {"requeued": 1}})
        self.wait_job(connection, 2, "failed")

        self.assertEqual(self.exchange(connection, {"id": 20, "method": "submit", "params": {
            "name": "sleepy", "command": ["sleep", "{}"], "sources": [["30", "31", "32"]],
            "parallelism": 1, "retries": 1, "timeout_ms": 60000, "priority": 5,
            "env": {"MODE": "fast"}, "cwd": "/tmp"}}), {"id": 20, "result": {"job": 3, "tasks": 3}})
        self.wait_task(connection, 3, 0, "running")
        self.assertEqual(self.exchange(connection, {"id": 21, "method": "pause", "params": {"job": 3}}),
                         {"id": 21, "result": {"paused": True}})
        self.assertEqual(self.exchange(connection, {"id": 23, "method": "resume", "params": {"job": 3}}),
                         {"id": 23, "result": {"paused": False}})
        self.assertEqual(self.exchange(connection, {"id": 24, "method": "cancel", "params": {"job": 3, "index": 2}}),
                         {"id": 24, "result": {"cancelled": 1}})
        self.assertEqual(self.exchange(connection, {"id": 25, "method": "cancel", "params": {"job": 3}}),
                         {"id": 25, "result": {"cancelled": 2}})
        self.wait_job(connection, 3, "cancelled")

        self.assertEqual(self.exchange(connection, {"id": 31, "method": "submit", "params": {
            "name": "after", "tasks": ["echo one", "echo two"], "after": 1}}),
            {"id": 31, "result": {"job": 4, "tasks": 2}})
        self.wait_job(connection, 4, "succeeded")

        explain = self.exchange(connection, {"id": 32, "method": "submit", "params": {
            "name": "demo", "command": ["echo", "{}"], "sources": [["a", "b"]], "explain": True}})
        containment = {"containment": ping["result"]["containment"]}
        if containment["containment"] == "subreaper":
            containment["containment_fallback"] = explain["result"]["explain"].get("containment_fallback")
            self.assertIs(type(containment["containment_fallback"]), str)
        self.assertEqual(explain, {"id": 32, "result": {"explain": dict(containment, **{
            "resources": {"cpus": 0, "gpus": 0, "mem": 0}, "same_name": [{"job": 1, "state": "succeeded"}],
            "summary": {"adopt": 0, "dropped": 0, "keep_failed": 0, "new": 2, "resume": 0, "retry": 0, "run": 0, "skip": 0,
                        "total": 2},
            "tasks": [{"action": "new", "argv": ["echo", "a"], "index": 0, "task": None},
                      {"action": "new", "argv": ["echo", "b"], "index": 1, "task": None}],
            "tasks_not_listed": 0})}})

        self.assertEqual(self.exchange(connection, {"id": 33, "method": "submit", "params": {
            "command": ["no-such-program", "{}"], "sources": [["a"]]}}),
            {"error": {"code": "bad_request", "message": "command not found: no-such-program (not on PATH)"},
             "id": 33})
        self.assertEqual(self.exchange(connection, {"id": 36, "method": "bogus"}),
                         {"error": {"code": "bad_request", "message": 'unknown method "bogus"'}, "id": 36})
        self.assertEqual([j["id"] for j in connection.request("list")["jobs"]], [1, 2, 3, 4])


class RestartTest(unittest.TestCase):
    """`pause`'s flag is stored: it survives a restart of jrd."""

    def test_paused_survives_a_restart(self):
        root = tempfile.mkdtemp(prefix="jr-protocol-doc-restart-")
        daemon = Daemon(JRD, root)
        try:
            with connect(daemon.socket) as connection:
                job = connection.request("submit", {"command": ["sleep", "{}"], "sources": [["1000", "1001"]]})["job"]
                self.assertEqual(connection.request("pause", {"job": job}), {"paused": True})
        finally:
            daemon.stop()
        daemon = Daemon(JRD, root)
        try:
            with connect(daemon.socket) as connection:
                status = connection.request("status", {"job": job})
                self.assertEqual((status["paused"], status["state"]), (True, "paused"))
                connection.request("cancel", {"job": job})
        finally:
            daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


def main():
    global JRD
    args = sys.argv[1:]
    if args[:1] == ["task-save"]:
        task_save(args[1:])
        return 0
    if args[:1] != ["--jrd"] or len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    JRD = args[1]
    program = unittest.main(argv=[sys.argv[0], *args[2:]], exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
