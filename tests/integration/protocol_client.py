"""A client of jrd's socket protocol written only from docs/protocol.md (standard library).

    with Client(socket_path) as c:      # connects and says hello
        job = c.call("submit", {"command": ["echo", "{}"], "sources": [["a", "b"]]})["job"]

call() returns the reply's "result" or raises ProtocolError carrying the reply's error code
and message. send_frame()/recv_frame() are there for tests that speak the framing directly.
"""

import json
import socket
import struct

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024 * 1024


class ProtocolError(Exception):
    def __init__(self, code, message, reply=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply


class ConnectionClosed(Exception):
    pass


def encode_frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


class Client:
    def __init__(self, path, hello=True, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.next_id = 1
        self.buffer = bytearray()
        self.server = None
        if hello:
            try:
                self.server = self.call("hello", {"protocol": PROTOCOL_VERSION, "client": "protocol_client.py"})
            except BaseException:
                self.sock.close()
                raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_frame(self, body: bytes):
        self.sock.sendall(encode_frame(body))

    def send_message(self, message):
        self.send_frame(json.dumps(message).encode())

    def _read_exactly(self, n):
        while len(self.buffer) < n:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""  # jrd closed with our later bytes unread: the same end of stream
            if not chunk:
                raise ConnectionClosed(f"connection closed with {len(self.buffer)} of {n} bytes read")
            self.buffer += chunk
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def recv_frame(self) -> bytes:
        (length,) = struct.unpack(">I", self._read_exactly(4))
        if length > MAX_FRAME_BYTES:
            raise ProtocolError("bad_request", f"reply frame of {length} bytes exceeds the limit")
        return self._read_exactly(length)

    def recv_message(self):
        return json.loads(self.recv_frame())

    def request(self, method, params=None):
        """Sends one request; returns the whole reply object (result or error)."""
        rid = self.next_id
        self.next_id += 1
        self.send_message({"id": rid, "method": method, "params": params if params is not None else {}})
        while True:
            reply = self.recv_message()
            # An error about the stream itself carries "id": null; answer it to this call too.
            if reply.get("id") in (rid, None):
                return reply

    def call(self, method, params=None):
        reply = self.request(method, params)
        if "error" in reply:
            raise ProtocolError(reply["error"]["code"], reply["error"]["message"], reply)
        return reply["result"]
