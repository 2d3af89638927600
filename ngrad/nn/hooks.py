"""Forward hooks: per-module ones live on the module; global ones run for every module call."""
from __future__ import annotations

import itertools

#: ``{id: hook(module, args, output)}`` run after every module's forward
global_forward_hooks: dict = {}

_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook.

    Also a context manager: the hook is removed when the ``with`` block ends.
    """

    def __init__(self, hooks: dict, key: int):
        self.hooks, self.key = hooks, key

    @classmethod
    def add(cls, hooks: dict, hook) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        key = next(_ids)
        hooks[key] = hook
        return cls(hooks, key)

    def remove(self) -> None:
        self.hooks.pop(self.key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def register_module_forward_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after the forward of every module, everywhere.

    This is how :func:`ngrad.nn.summary` records output shapes. A non-None
    return value replaces the output.
    """
    return RemovableHandle.add(global_forward_hooks, hook)
