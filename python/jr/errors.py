"""Errors of the jr package.

JrError carries the protocol's stable error `code` (docs/protocol.md, "Error codes") and one line
for a person; each code has its subclass, so `except jr.errors.NotFound` works as well as
branching on `.code`. TaskError is a call that failed in its task without an exception the caller
could re-raise as itself (the task crashed, was killed, or raised something that cannot be
unpickled); Interrupted is a run stopped from outside before every call finished.
"""


class JrError(Exception):
    """An error from jr: `.code` is the protocol's code string, `.message` one line."""

    code = "internal"

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message


class BadRequest(JrError):
    code = "bad_request"


class NotFound(JrError):
    code = "not_found"


class Conflict(JrError):
    code = "conflict"


class IllegalTransition(JrError):
    code = "illegal_transition"


class IoError(JrError):
    code = "io"


class Corrupt(JrError):
    code = "corrupt"


class UnsupportedVersion(JrError):
    code = "unsupported_version"


class Unavailable(JrError):
    code = "unavailable"


class Internal(JrError):
    code = "internal"


_BY_CODE = {cls.code: cls for cls in (BadRequest, NotFound, Conflict, IllegalTransition, IoError, Corrupt,
                                      UnsupportedVersion, Unavailable, Internal)}


def from_code(code, message):
    """The JrError subclass for a wire code; an unknown code is treated as internal, as documented."""
    cls = _BY_CODE.get(code, Internal)
    return cls(message, code=code if cls is Internal else None)


class NotImportable(TypeError):
    """A function that cannot travel to a task by reference (a lambda, a nested function, ...)."""


class UnpicklableArgument(TypeError):
    """An argument of a call that pickle cannot serialise."""


class TaskError(JrError):
    """A call failed in its task and its own exception cannot be re-raised here.

    `.traceback` is the task's formatted traceback ("" when the task died without one),
    `.log` the path of the task's stderr log (None when the task wrote nothing to stderr), `.call`
    the call's position in the input.
    """

    def __init__(self, message, traceback="", log=None, call=None):
        super().__init__(message, code="internal")
        self.traceback = traceback
        self.log = log
        self.call = call


class Interrupted(JrError):
    """The run was stopped (a signal to the engine) before every call finished: run it again to resume."""

    code = "interrupted"


class RemoteTraceback(Exception):
    """The traceback text of an exception raised in a task; set as the re-raised exception's cause."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return "\n\n" + self.text.rstrip() + "\n"
