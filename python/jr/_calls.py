"""Calls as jr.Parallel sends them: checked, pickled, and named by what they compute.

A call is joblib's (function, args, kwargs) triple. Its payload is the pickle of
(function, args, sorted kwargs items); pickle sends functions by reference (module and
qualified name), so the payload holds the function's name and the arguments' values, and its
SHA-256 is the call's identity: the same call has the same identity in every run, which is what
lets a rerun skip it. Equal calls in one input are computed once each, as joblib does (ten
draw() calls give ten draws): the k-th copy's identity carries k (copy_identity), so it matches
the k-th copy of the next run. Sets are pickled in a canonical order so that string hashing, which
differs between interpreters, does not change an identity.

Everything a task would trip over is found here, before any task runs: a function that cannot
be imported by reference (a lambda, a nested function, one redefined after its definition, one
in an interactive __main__) and an argument that cannot be pickled.
"""

import functools
import hashlib
import importlib
import io
import os
import pickle
import sys
import types

from .errors import NotImportable, UnpicklableArgument

PROTOCOL = 5


def delayed(function):
    """joblib's delayed: `delayed(f)(*args, **kwargs)` is the call (f, args, kwargs), not yet run."""

    def make_call(*args, **kwargs):
        return function, args, kwargs

    try:
        functools.update_wrapper(make_call, function)
    except AttributeError:
        pass
    return make_call


def describe(function):
    """A function's name for a person: module.qualname and where it is defined."""
    target = function
    while isinstance(target, functools.partial):
        target = target.func
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
    code = getattr(target, "__code__", None)
    if code is not None:
        name += f" (defined at {code.co_filename}:{code.co_firstlineno})"
    if target is not function:
        name = f"functools.partial of {name}"
    return name


def main_module_info():
    """How a task imports the caller's main script: {"name": module} when it was started with
    -m, {"path": file} when run as a file, None when it has no file (interactive, -c, stdin)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name not in ("__main__", "__jr_main__"):
        return {"name": spec.name}
    path = getattr(main, "__file__", None)
    if path and path.endswith(".py") and os.path.isfile(path):
        return {"path": os.path.abspath(path)}
    return None


def _resolve(module_name, qualname):
    if module_name == "__main__":
        module = sys.modules["__main__"]
    else:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def check_function(function):
    """Raises NotImportable, naming the function, unless a task can import it by reference."""
    if not callable(function):
        raise TypeError(f"jr: {function!r} is not callable")
    target = function
    while isinstance(target, functools.partial):
        target = target.func
    if isinstance(target, types.FunctionType):
        name = describe(target)
        qualname, module = target.__qualname__, target.__module__
        how = ("a task imports the function it runs by module and name (as multiprocessing's spawn does): "
               "define it with def at the top level of a module")
        if "<lambda>" in qualname:
            raise NotImportable(f"jr cannot run the lambda {name} in a task: {how}")
        if "<locals>" in qualname:
            raise NotImportable(f"jr cannot run {name} in a task: it is defined inside another function; {how}")
        if module == "__main__" and main_module_info() is None:
            raise NotImportable(f"jr cannot run {name} in a task: it is defined in an interactive session or a "
                                "script without a file (python -c, stdin); put it in a module or a script file")
        try:
            found = _resolve(module, qualname)
        except Exception as e:
            raise NotImportable(f"jr cannot run {name} in a task: {module}.{qualname} cannot be imported "
                                f"({type(e).__name__}: {e}); {how}") from None
        if found is not target:
            raise NotImportable(f"jr cannot run {name} in a task: importing {module}.{qualname} gives another "
                                f"object ({found!r}): it was redefined or replaced after its definition; {how}")
    try:
        pickle.dumps(function, protocol=PROTOCOL)
    except Exception as e:
        raise NotImportable(f"jr cannot send {describe(function)} to a task: {type(e).__name__}: {e}") from None


def _has_set(obj, budget):
    """Whether obj holds a set or frozenset within its first `budget` container items."""
    stack = [obj]
    while stack and budget[0] > 0:
        o = stack.pop()
        t = type(o)
        if t is set or t is frozenset:
            return True
        if t is tuple or t is list:
            budget[0] -= len(o)
            stack.extend(o)
        elif t is dict:
            budget[0] -= len(o)
            stack.extend(o.keys())
            stack.extend(o.values())
    return False


class _CanonicalPickler(pickle._Pickler):
    """The pure-Python pickler with sets written in the order of their items' own pickles; only
    used for calls that hold sets (it is several times slower than the C pickler)."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_sorted(self, obj):
        items = sorted(obj, key=lambda x: pickle.dumps(x, protocol=PROTOCOL))
        self.save_reduce(type(obj), (items,), obj=obj)

    dispatch[set] = _save_sorted
    dispatch[frozenset] = _save_sorted


def _dumps(obj):
    if _has_set(obj, [100_000]):
        buf = io.BytesIO()
        _CanonicalPickler(buf, protocol=PROTOCOL).dump(obj)
        return buf.getvalue()
    return pickle.dumps(obj, protocol=PROTOCOL)


class Call:
    __slots__ = ("payload", "identity", "function")

    def __init__(self, payload, identity, function):
        self.payload = payload
        self.identity = identity
        self.function = function


def normalize(item, position):
    """(function, args, kwargs) from one item of Parallel's input."""
    if isinstance(item, tuple) and len(item) == 3 and callable(item[0]):
        function, args, kwargs = item
        return function, tuple(args), dict(kwargs or {})
    raise TypeError(f"jr.Parallel takes delayed(f)(args...) items; item {position} is "
                    f"{type(item).__qualname__} {item!r:.80}")


def encode(function, args, kwargs, position):
    """The call's Call (payload and identity); raises UnpicklableArgument naming the argument."""
    kw_items = tuple(sorted(kwargs.items()))
    try:
        payload = _dumps((function, args, kw_items))
    except Exception as e:
        _explain_unpicklable(function, args, kwargs, position, e)
        raise
    identity = hashlib.sha256(payload).hexdigest()[:40]
    return Call(payload, identity, function)


def _explain_unpicklable(function, args, kwargs, position, error):
    named = [(f"argument {i + 1}", a) for i, a in enumerate(args)]
    named += [(f"keyword argument {k}=", v) for k, v in kwargs.items()]
    for label, value in named:
        try:
            _dumps(value)
        except Exception as e:
            raise UnpicklableArgument(
                f"jr cannot send call {position} to {describe(function)}: its {label} (a {type(value).__qualname__}) "
                f"cannot be pickled: {type(e).__name__}: {e}") from None
    raise UnpicklableArgument(f"jr cannot send call {position} to {describe(function)}: "
                              f"{type(error).__name__}: {error}") from None


def copy_identity(identity, k):
    """The identity of the k-th (from 0) of equal calls: the call's own for the first, so that a
    state written before copies were told apart still matches it."""
    return identity if k == 0 else f"{identity}.{k}"


def batch_identity(kind, call_ids):
    h = hashlib.sha256(kind.encode())
    for i in call_ids:
        h.update(b"\0" + i.encode())
    return h.hexdigest()[:40]
