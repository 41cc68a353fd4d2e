"""jr for Python: a joblib-style parallel map whose finished calls are never computed again.

    import jr
    results = jr.Parallel(n_jobs=8)(jr.delayed(simulate)(p) for p in params)   # in order
    results = jr.map(simulate, params, n_jobs=8)

Each batch of calls runs as a jr task: recorded in SQLite under `state` (default ./.jr), resumed
from its checkpoint after a kill, skipped once it succeeded. Inside a call, jr.checkpoint.save()
/ load() keep the call's own state across interruptions and jr.progress() reports how far it got.
jr.Client speaks jrd's socket protocol; Parallel(daemon=True, name=...) runs the calls under
jrd, and jr.attach(name) collects them from another process.

Attributes load on first use, so that a task's interpreter imports only what it needs.
"""

__version__ = "0.1.0"

_LAZY = {
    "Parallel": ("parallel", "Parallel"),
    "delayed": ("parallel", "delayed"),
    "map": ("parallel", "map"),
    "attach": ("_daemon", "attach"),
    "Client": ("client", "Client"),
    "progress": ("_progress", "progress"),
    "JrError": ("errors", "JrError"),
    "TaskError": ("errors", "TaskError"),
    "Interrupted": ("errors", "Interrupted"),
    "NotImportable": ("errors", "NotImportable"),
    "UnpicklableArgument": ("errors", "UnpicklableArgument"),
}

__all__ = sorted(_LAZY) + ["checkpoint", "errors"]


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module_name}", __name__), attr)
        globals()[name] = value
        return value
    if name in ("checkpoint", "errors", "client"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'jr' has no attribute {name!r}")


def __dir__():
    return __all__
