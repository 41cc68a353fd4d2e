"""jr.Client: jrd's socket protocol (docs/protocol.md), standard library only.

    with jr.Client() as c:                      # connects and says hello
        job = c.submit(tasks=["echo a", "echo b"], name="demo", parallelism=2)["job"]
        c.wait(job=job)                         # the job object once it has ended
        print(c.logs(job=job, index=0))

Every method returns the reply's `result` (a dict) or raises a jr.errors.JrError subclass
carrying the reply's error `code`; a daemon that does not answer raises errors.Unavailable.
One connection serves one thread; requests are answered in order.
"""

import json
import os
import socket
import struct
import time

from . import errors

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024 * 1024
FINISHED_JOB_STATES = ("succeeded", "failed", "cancelled")


def default_socket_path():
    """Where `jr` looks for jrd: $JR_DAEMON_SOCKET, $XDG_RUNTIME_DIR/jr/jrd.sock, else the state dir's."""
    path = os.environ.get("JR_DAEMON_SOCKET")
    if path:
        return path
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "jr", "jrd.sock")
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state_home, "jr", "jrd.sock")


def _job_params(job, name):
    if job is not None:
        return {"job": int(job)}
    if name is not None:
        return {"name": str(name)}
    raise errors.BadRequest("name the job with job=ID or name=NAME")


class Client:
    """A connection to jrd (or, inside a task, to its engine: Client(os.environ["JR_SOCKET"]))."""

    def __init__(self, socket_path=None, timeout=60.0, client_name="jr.py"):
        self.path = socket_path or default_socket_path()
        self._buffer = b""
        self._next_id = 1
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(self.path)
        except OSError as e:
            self._sock.close()
            raise errors.Unavailable(f"no jr daemon answers at {self.path} ({e.strerror or e}); "
                                     "start one with 'jrd &' or 'systemctl --user start jrd.socket'") from None
        try:
            self.server = self.call("hello", {"protocol": PROTOCOL_VERSION, "client": client_name})
        except BaseException:
            self._sock.close()
            raise

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the wire ---------------------------------------------------------------------------

    def _read_exactly(self, n):
        while len(self._buffer) < n:
            try:
                chunk = self._sock.recv(max(65536, n - len(self._buffer)))
            except ConnectionResetError:
                chunk = b""  # jrd closed with bytes of ours unread: the same end of stream
            except socket.timeout:
                raise errors.Unavailable(f"jr at {self.path} did not reply in time") from None
            if not chunk:
                raise errors.Unavailable(f"the connection to jr at {self.path} closed before it replied")
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def call(self, method, params=None):
        """Sends one request and returns its result; raises the reply's error as a JrError."""
        rid = self._next_id
        self._next_id += 1
        body = json.dumps({"id": rid, "method": method, "params": params or {}}).encode()
        if len(body) > MAX_FRAME_BYTES:
            raise errors.BadRequest(f"request of {len(body)} bytes exceeds the protocol's 16 MiB frame limit")
        try:
            self._sock.sendall(struct.pack(">I", len(body)) + body)
        except OSError as e:
            raise errors.Unavailable(f"the connection to jr at {self.path} is lost ({e.strerror or e})") from None
        while True:
            (length,) = struct.unpack(">I", self._read_exactly(4))
            if length > MAX_FRAME_BYTES:
                raise errors.Corrupt(f"jr sent a frame of {length} bytes, over the 16 MiB limit")
            reply = json.loads(self._read_exactly(length))
            if reply.get("id") not in (rid, None):
                continue
            if "error" in reply:
                e = reply["error"]
                raise errors.from_code(e.get("code", "internal"), e.get("message", "error"))
            return reply.get("result", {})

    # -- methods (docs/protocol.md, "Methods") ------------------------------------------------

    def ping(self):
        return self.call("ping")

    def submit(self, tasks=None, command=None, sources=None, *, output=None, on_finish=None, keep_checkpoints=None,
               max_checkpoint=None, max_result=None, stall_timeout=None, stall_action=None, expect=None, shard=None,
               explain=False, **options):
        """Creates a job: `tasks` (shell lines) or `command` (argv template) with `sources`.

        The per-job options of `jr run` and `jr submit`, by their flag names:
          output            the file each task writes, a template (e.g. "{.}.gz"); the command writes to {out}
          on_finish         a shell command run once the job ends (JR_JOB_ID, JR_JOB_STATE, JR_TOTAL, …)
          keep_checkpoints  checkpoints kept per task (default 2)
          max_checkpoint, max_result   the largest checkpoint and result a task may save, in bytes
          stall_timeout     seconds: a task that wrote progress, then none for this long, is stalled
          stall_action      "report" (default) or "kill" (kill a stalled task and retry it)
          expect            seconds: a task's expected run time, for jrd's --deadline
          shard             (K, N): only the tasks whose index is K modulo N
          explain           True: nothing is created; returns {"explain": …}, what jrd would run
        Other protocol params (docs/protocol.md) pass as given: name, parallelism, retries,
        timeout_ms, priority, after, cwd, env, shell, cpus, gpus, mem. Returns {"job", "tasks"}.
        """
        params = dict(options)
        if tasks is not None:
            params["tasks"] = list(tasks)
        if command is not None:
            params["command"] = list(command)
        if sources is not None:
            params["sources"] = [list(s) for s in sources]
        for key, value in (("output", output), ("on_finish", on_finish), ("keep_checkpoints", keep_checkpoints),
                           ("max_checkpoint", max_checkpoint), ("max_result", max_result),
                           ("stall_action", stall_action)):
            if value is not None:
                params[key] = value
        for key, seconds in (("stall_timeout_ms", stall_timeout), ("expect_ms", expect)):
            if seconds is not None:
                params[key] = int(round(seconds * 1000))
        if shard is not None:
            params["shard_index"], params["shard_count"] = (int(x) for x in shard)
        if explain:
            params["explain"] = True
        return self.call("submit", params)

    def status(self, job=None, name=None):
        return self.call("status", _job_params(job, name))

    def list(self, state=None):
        return self.call("list", {"state": state} if state else {})["jobs"]

    def tasks(self, job=None, name=None, state=None, index=None, offset=0, limit=1000):
        params = _job_params(job, name)
        params.update(offset=offset, limit=limit)
        if state is not None:
            params["state"] = state
        if index is not None:
            params["index"] = index
        return self.call("tasks", params)["tasks"]

    def events(self, job=None, name=None, after=0, limit=10000):
        params = _job_params(job, name)
        params.update(after=after, limit=limit)
        return self.call("events", params)["events"]

    def cancel(self, job=None, name=None, index=None):
        params = _job_params(job, name)
        if index is not None:
            params["index"] = index
        return self.call("cancel", params)["cancelled"]

    def pause(self, job=None, name=None):
        return self.call("pause", _job_params(job, name))

    def resume(self, job=None, name=None):
        return self.call("resume", _job_params(job, name))

    def retry(self, job=None, name=None, failed_only=False):
        params = _job_params(job, name)
        params["failed_only"] = bool(failed_only)
        return self.call("retry", params)["requeued"]

    def wait(self, job=None, name=None, timeout=None, poll=0.2, until=None):
        """Polls `status` until the job has ended (or `until(job_object)` is true); returns the job object.

        A name is resolved once, then the job is followed by id. Raises TimeoutError after
        `timeout` seconds.
        """
        params = _job_params(job, name)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.call("status", params)
            params = {"job": status["id"]}
            if status["state"] in FINISHED_JOB_STATES or (until is not None and until(status)):
                return status
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {status['id']} still {status['state']} after {timeout} s")
            time.sleep(poll)

    def logs(self, job=None, name=None, index=0, stream="stdout"):
        """The text of one task's log ("stdout" or "stderr"), read from the path jrd reports."""
        if stream not in ("stdout", "stderr"):
            raise errors.BadRequest("stream is 'stdout' or 'stderr'")
        params = _job_params(job, name)
        params["index"] = index
        task = self.call("tasks", params)["tasks"][0]
        try:
            with open(task[stream], "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
