#!/usr/bin/python3
"""Drives a real jrd with every mistyped parameter of every method (standard library only).

    JRD_BIN=build/daemon/jrd /usr/bin/python3 tests/integration/protocol_params_test.py [ParamsTest]

The methods and their parameters are read from docs/protocol.md's tables, as a client written
from the doc would (tests/protocol/methods_doc_test.cpp keeps those tables equal to the one jrd
checks requests against). Each wrong value must be refused with bad_request, naming the
parameter and the type the doc states, and change nothing. Also: hello's checks and version
negotiation, and the JSON depth limit on both sides.
"""

import os
import re
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jrd_process import Jrd, main  # noqa: E402
from protocol_client import Client, ConnectionClosed, ProtocolError  # noqa: E402

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "protocol.md")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def doc_params():
    """{method: [(param, type, required)]}: the methods of the doc's method table, each with the
    rows of the parameter table in its section (none for a section without one)."""
    with open(DOC, encoding="utf-8") as f:
        lines = f.read().splitlines()
    overview = lines.index("| method | params | result |")
    methods = {}
    for line in lines[overview + 2:]:
        if not line.startswith("|"):
            break
        methods[line.split("`")[1]] = []
    current, in_table = [], False
    for line in lines:
        if line.startswith("#"):
            # "### pause and resume" documents two methods.
            current = [w for w in line.split() if w in methods] if line.startswith("### ") else []
            in_table = False
        elif line == "| param | type | required | meaning |":
            in_table = True
        elif in_table and line.startswith("|") and not line.startswith("|---"):
            name, type_, required = [c.strip() for c in line.strip("|").split("|")][:3]
            for m in current:
                methods[m].append((name.strip("`"), type_, required))
        elif not line.startswith("|"):
            in_table = False
    return methods


def integer_range(type_):
    """(min, max) of "integer", "integer ≥ N" or "integer from N to M"."""
    if m := re.fullmatch(r"integer from (-?\d+) to (-?\d+)", type_):
        return int(m[1]), int(m[2])
    if m := re.fullmatch(r"integer ≥ (-?\d+)", type_):
        return int(m[1]), INT64_MAX
    assert type_ == "integer", type_
    return INT64_MIN, INT64_MAX


def wrong_values(type_):
    """Values of every other JSON type, and integers just outside the range."""
    if type_.startswith("integer"):
        low, high = integer_range(type_)
        values = [1.5, 1.0, "1", True, None, [1], {}, 2**64, -(2**63) - 1]
        values += [low - 1, -1] if low > INT64_MIN else []
        values += [high + 1] if high < INT64_MAX else [2**63]
        return [v for v in values if not (isinstance(v, int) and not isinstance(v, bool) and low <= v <= high)]
    return {
        "string": [1, True, None, ["a"], {"a": "b"}],
        "bool": [1, 0, "true", None, []],
        "array of strings": ["a", [1], [["a"]], [None], {}, None],
        "array of arrays of strings": ["a", ["a"], [[1]], [[None]], [{}], None],
        "object of strings": ["a", ["a"], {"K": 1}, {"K": None}, None],
    }[type_]


def article(noun):
    return ("an " if noun[0] in "aeiou" else "a ") + noun


class ParamsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jrd = Jrd()
        cls.params = doc_params()

    @classmethod
    def tearDownClass(cls):
        log = cls.jrd.log()
        assert cls.jrd.stop() == 0, f"jrd did not exit cleanly on SIGTERM:\n{log}"

    def connect(self, hello=True):
        return Client(self.jrd.socket, hello=hello, timeout=120)

    def assertRefused(self, c, method, params, code, message_part):
        with self.assertRaises(ProtocolError, msg=f"{method} {params!r} was accepted") as e:
            c.call(method, params)
        self.assertEqual(e.exception.code, code, (method, params, e.exception.message))
        self.assertIn(message_part, e.exception.message, (method, params))
        return e.exception.message

    def assertErrorThenClose(self, c, code, message_part):
        reply = c.recv_message()
        self.assertEqual(reply.get("error", {}).get("code"), code, reply)
        self.assertIn(message_part, reply["error"]["message"])
        with self.assertRaises(ConnectionClosed):
            c.recv_frame()

    def test_the_doc_tables_every_method(self):
        self.assertEqual(sorted(self.params), sorted([
            "hello", "ping", "submit", "status", "list", "tasks", "events", "cancel", "pause", "resume", "retry",
            "checkpoint.save", "result.save"]))

    def test_every_mistyped_parameter_is_refused_and_changes_nothing(self):
        with self.connect() as c:
            job = c.call("submit", {"command": ["sleep", "600"]})["job"]
            try:
                # What each method needs to get past its other checks: only the param under test is wrong.
                valid = {"submit": {"command": ["true"]}, "checkpoint.save": {"run": "bogus.1.1"},
                         "result.save": {"run": "bogus.1.1", "path": "/nonexistent"}}
                jobs_before = [j["id"] for j in c.call("list", {})["jobs"]]
                tried = 0
                for method, params in self.params.items():
                    if method == "hello":
                        continue  # a failed hello closes the connection: test_mistyped_hello
                    for name, type_, _ in params:
                        for value in wrong_values(type_):
                            base = valid.get(method, {"job": job} if any(p[0] == "job" for p in params) else {})
                            request = dict(base, **{name: value})
                            message = self.assertRefused(c, method, request, "bad_request",
                                                         f"{method}: {name}: expected {article(type_)}, got ")
                            self.assertNotIn("\n", message)
                            tried += 1
                self.assertGreater(tried, 200)
                # Nothing was created, cancelled or paused by a refused request.
                self.assertEqual([j["id"] for j in c.call("list", {})["jobs"]], jobs_before)
                self.assertEqual(c.call("status", {"job": job})["state"], "running")
            finally:
                c.call("cancel", {"job": job})

    def test_integers_are_never_coerced(self):
        with self.connect() as c:
            for value, shown in ((1.5, "1.5"), (4294967297, "4294967297"), ("2", '"2"')):
                request = {"command": ["true"], "parallelism": value}
                message = self.assertRefused(c, "submit", request, "bad_request", "")
                self.assertEqual(message, f"submit: parallelism: expected an integer from 1 to 2147483647, got {shown}")

    def test_missing_required_params(self):
        with self.connect() as c:
            self.assertRefused(c, "status", {}, "bad_request", 'status: give "job" or "name"')
            self.assertRefused(c, "submit", {"name": "x"}, "bad_request", 'submit: give "command" or "tasks"')
            self.assertRefused(c, "result.save", {"run": "bogus.1.1"}, "bad_request",
                               "result.save: path: expected a string, got nothing")

    def test_params_that_are_not_an_object(self):
        with self.connect() as c:
            for params in ([], None, "job", 3):
                c.send_message({"id": 1, "method": "status", "params": params})
                reply = c.recv_message()
                self.assertEqual(reply["error"]["code"], "bad_request", params)
                self.assertIn("status: params must be an object", reply["error"]["message"])
            c.call("ping")  # the connection stays open

    def test_commands_are_checked_as_jr_run_checks_them(self):
        # A client that skipped jr's checks: jrd makes them, says what is wrong, creates nothing.
        with self.connect() as c:
            jobs_before = [j["id"] for j in c.call("list", {})["jobs"]]
            for params, message in (
                    ({"command": ["echo", "{3}"], "sources": [["a"], ["b"]]}, "{3}"),
                    ({"command": ["echo", "{= s/a/b/ =}"], "sources": [["a"]]}, "{= s/a/b/ =}"),
                    ({"command": ["no-such-program-jr", "{}"], "sources": [["a"]]},
                     "command not found: no-such-program-jr (not on PATH)"),
                    ({"command": ["echo {} > out"], "sources": [["a"]]}, "one word holding shell syntax (>)"),
                    ({"command": ["true"], "shard_index": 2, "shard_count": 2}, "shard_index must be below shard_count"),
                    ({"command": ["echo", "{}", "{out}"], "sources": [["a"]], "output": "{}.res", "explain": True,
                      "cpus": 1 << 30}, "")):
                refused = self.assertRefused(c, "submit", params, "bad_request", message)
                self.assertNotIn("\n", refused)
            self.assertEqual([j["id"] for j in c.call("list", {})["jobs"]], jobs_before)
            explained = c.call("submit", {"command": ["echo", "{}"], "sources": [["a", "b"]], "explain": True})
            self.assertEqual(explained["explain"]["summary"]["new"], 2)
            self.assertNotIn("job", explained)
            self.assertEqual([j["id"] for j in c.call("list", {})["jobs"]], jobs_before)

    def test_unknown_states_are_bad_requests(self):
        with self.connect() as c:
            job = c.call("submit", {"command": ["true"]})["job"]
            self.assertRefused(c, "list", {"state": "done"}, "bad_request", 'list: state: expected a job state')
            self.assertRefused(c, "tasks", {"job": job, "state": "done"}, "bad_request",
                               'tasks: state: expected a task state')

    # The handshake.

    def test_mistyped_hello_is_a_bad_request_then_close(self):
        cases = [({}, "hello: protocol: expected an integer, got nothing"),
                 ({"protocol": None}, "hello: protocol: expected an integer, got null"),
                 ({"protocol": "1"}, 'hello: protocol: expected an integer, got "1"'),
                 ({"protocol": 1.0}, "hello: protocol: expected an integer, got 1.0"),
                 ({"protocol": True}, "hello: protocol: expected an integer, got true"),
                 ({"protocol": 2**64}, "hello: protocol: expected an integer, got "),
                 ({"protocol": 1, "min_protocol": "1"}, "hello: min_protocol: expected an integer"),
                 ({"protocol": 1, "client": 7}, "hello: client: expected a string, got 7"),
                 ({"protocol": 1, "min_protocol": 2}, "hello: min_protocol 2 is above protocol 1"),
                 ([1], "hello: params must be an object")]
        for params, message in cases:
            with self.connect(hello=False) as c:
                c.send_message({"id": 1, "method": "hello", "params": params})
                self.assertErrorThenClose(c, "bad_request", message)

    def test_hello_negotiates_the_highest_common_version(self):
        for params in ({"protocol": 1}, {"protocol": 1, "min_protocol": 1}, {"protocol": 7, "min_protocol": 1},
                       {"protocol": 1, "min_protocol": -5}):
            with self.connect(hello=False) as c:
                self.assertEqual(c.call("hello", params)["protocol"], 1, params)
                c.call("ping")
        for params, message in (({"protocol": 2}, "protocol version 2 is not spoken here"),
                                ({"protocol": 9, "min_protocol": 2}, "protocol versions 2 to 9 are not spoken here"),
                                ({"protocol": 0}, "protocol version 0 is not spoken here"),
                                ({"protocol": INT64_MIN}, "is not spoken here")):
            with self.connect(hello=False) as c:
                c.send_message({"id": 1, "method": "hello", "params": params})
                self.assertErrorThenClose(c, "unsupported_version", message)

    # The depth limit: 64 levels of arrays and objects are accepted, 65 refused, whatever kind.

    def test_depth_limit_on_both_sides(self):
        kinds = {
            "empty array": lambda n: "[" * n + "]" * n,
            "array": lambda n: "[" * n + "0" + "]" * n,
            "empty object": lambda n: '{"a":' * (n - 1) + "{}" + "}" * (n - 1),
            "object": lambda n: '{"a":' * n + "0" + "}" * n,
        }
        for kind, nested in kinds.items():
            # The request object is level 1, so its "pad" holds the other 63 (or 64).
            with self.connect() as c:
                c.send_frame(('{"id": 1, "method": "ping", "pad": ' + nested(63) + "}").encode())
                self.assertIn("result", c.recv_message(), f"64 levels of {kind} refused")
            with self.connect() as c:
                c.send_frame(('{"id": 1, "method": "ping", "pad": ' + nested(64) + "}").encode())
                self.assertErrorThenClose(c, "bad_request", "nested deeper than 64 levels")


if __name__ == "__main__":
    main()
