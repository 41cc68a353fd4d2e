"""Byte layouts shared by the caller and the task runner (imported by both: keep it light).

A batch file (STATE/py/<batch id>.pkl), written by the caller, read by the runner, is one pickle:
    {"v": 1, "batch": id, "ids": [call identity, ...], "main": {"name"|"path": ...} or None,
     "budget": seconds or None, "timeout": seconds or None,
     "calls": [bytes, ...]}        # each: pickle of (function, args, kwargs items)

A record stream is what a task hands back, call by call:
    record = call: u32 (position in the batch) | kind: u8 | length: u64 | `length` bytes
    kind VALUE: the pickled return value; kind ERROR: a pickled dict describing the exception
    (see _runner.error_record).
It is the runner's checkpoint file (VALUE records only, appended as calls finish; a torn tail
is ignored) and, behind a header, the task's result (`jr result save`):
    b"JRPY\\x01" | meta length: u64 | pickled meta dict | records
The meta names the batch, its call identities ("ids") and the positions that have values
("done"), so that a later plan can find stored calls by reading metas only.
"""

import struct

MAGIC = b"JRPY\x01"
VALUE = 0
ERROR = 1
_RECORD = struct.Struct("<IBQ")
_U64 = struct.Struct("<Q")


def record(call, kind, data):
    return _RECORD.pack(call, kind, len(data)) + data


def records(buf, offset=0):
    """Yields (call, kind, payload memoryview, offset past the record) from buf[offset:], stopping
    at a torn or missing tail."""
    view = memoryview(buf)
    end = len(view)
    while offset + _RECORD.size <= end:
        call, kind, length = _RECORD.unpack_from(view, offset)
        start = offset + _RECORD.size
        if start + length > end:
            return
        offset = start + length
        yield call, kind, view[start:offset], offset


def result_header(meta_bytes):
    return MAGIC + _U64.pack(len(meta_bytes)) + meta_bytes


def meta_end(head):
    """How many leading bytes of a result hold its header and meta (head: at least 13 of them), or None."""
    if len(head) < len(MAGIC) + _U64.size or bytes(head[:len(MAGIC)]) != MAGIC:
        return None
    return len(MAGIC) + _U64.size + _U64.unpack_from(head, len(MAGIC))[0]


def split_result(buf):
    """(meta pickle bytes, offset of the first record) of a task's result, or None if it is not ours."""
    if len(buf) < len(MAGIC) + _U64.size or bytes(buf[:len(MAGIC)]) != MAGIC:
        return None
    (n,) = _U64.unpack_from(buf, len(MAGIC))
    start = len(MAGIC) + _U64.size
    if start + n > len(buf):
        return None
    return memoryview(buf)[start:start + n], start + n


def write_record(f, call, kind, data):
    """Writes one record to a binary file without joining a large payload into a new buffer."""
    f.write(_RECORD.pack(call, kind, len(data)))
    f.write(data)

