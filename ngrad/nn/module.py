"""``Module``: the base class of every layer and model, with PyTorch's vocabulary.

A module owns :class:`~ngrad.nn.Parameter` s, buffers (non-learned state such
as BatchNorm's running averages) and sub-modules, all registered simply by
assigning them as attributes. It walks them with ``parameters()`` /
``named_parameters()`` (dotted names such as ``"0.weight"``), saves and loads
them with ``state_dict()`` / ``load_state_dict()``, switches ``train()`` /
``eval()``, and calls ``forward`` when called.

>>> import ngrad
>>> from ngrad import nn
>>> class TwoLayer(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.hidden = nn.Linear(4, 3)
...         self.out = nn.Linear(3, 1)
...     def forward(self, X):
...         return self.out(self.hidden(X).relu())
>>> [name for name, _ in TwoLayer().named_parameters()]
['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
"""
from __future__ import annotations

from collections import namedtuple

import numpy

from ngrad import backend
from ngrad.function import no_grad
from ngrad.nn import config as _config
from ngrad.nn.hooks import RemovableHandle, global_forward_hooks
from ngrad.nn.parameter import Parameter
from ngrad.tensor import Tensor, _wrap

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = "What ``load_state_dict(strict=False)`` skipped: missing and unexpected keys."


class Module:
    """Base class of layers and models.

    Subclasses call ``super().__init__()`` first, assign their parameters,
    buffers (:meth:`register_buffer`) and sub-modules as attributes, and define
    ``forward``. Every subclass is registered by class name so that
    :func:`ngrad.nn.from_config` can rebuild it from :meth:`get_config`.
    """

    training: bool

    def __init__(self):
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", {})
        set_(self, "_buffers", {})
        set_(self, "_non_persistent", set())
        set_(self, "_modules", {})
        set_(self, "_forward_hooks", {})
        set_(self, "_forward_pre_hooks", {})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _config.register(cls)

    # ------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...)")

    def __call__(self, *args, **kwargs):
        if self._forward_hooks or self._forward_pre_hooks or global_forward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook in tuple(self._forward_pre_hooks.values()):
            new_args = hook(self, args)
            if new_args is not None:
                args = new_args if isinstance(new_args, tuple) else (new_args,)
        out = self.forward(*args, **kwargs)
        for hook in (*global_forward_hooks.values(), *self._forward_hooks.values()):
            new_out = hook(self, args, out)
            if new_out is not None:
                out = new_out
        return out

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-None return replaces the output."""
        return RemovableHandle.add(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None return replaces the args."""
        return RemovableHandle.add(self._forward_pre_hooks, hook)

    # ------------------------------------------------------- registration
    def __getattr__(self, name):  # only reached for missing attributes
        if "_parameters" not in self.__dict__ and not name.startswith("__"):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}; "
                                 f"does its __init__ call super().__init__() first?")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        d = self.__dict__
        params, modules, buffers = d.get("_parameters"), d.get("_modules"), d.get("_buffers")
        if isinstance(value, (Parameter, Module)):
            if params is None:
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} before Module.__init__() call; "
                    f"call super().__init__() first in {type(self).__name__}.__init__"
                )
            own, others = (params, (modules, buffers)) if isinstance(value, Parameter) else (modules, (params, buffers))
            _discard(name, *others)
            own[name] = value  # a re-assigned name keeps its place
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                f"(Parameter or None expected)")
            params[name] = None
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                f"(Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} (Tensor or None expected)")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        d = self.__dict__
        _discard(name, d.get("_parameters"), d.get("_modules"), d.get("_buffers"))
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a declared but absent one such as ``bias=False``)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        _discard(name, self._modules, self._buffers)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add non-learned state (a Tensor, or None) saved in ``state_dict`` unless not ``persistent``.

        Arrays are wrapped in a Tensor without copying.
        """
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = _wrap(backend.get_array_module(tensor).asarray(tensor), False, None)
        _discard(name, self._parameters, self._modules)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (what attribute assignment does)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        _discard(name, self._parameters, self._buffers)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def _check_name(self, name, kind):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot add a {kind} before Module.__init__() call")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{kind} name must be a non-empty string without '.', got {name!r}")
        known = name in self._parameters or name in self._modules or name in self._buffers
        if hasattr(self, name) and not known:
            raise KeyError(f"attribute {name!r} already exists in {type(self).__name__}")

    # ---------------------------------------------------------- iteration
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(qualified_name, module)`` for this module (name ``prefix``) and all below it."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        """This module and every module below it, each once."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """Yield ``(name, module)`` for the direct sub-modules."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, attr, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, t in getattr(mod, attr).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(qualified_name, Parameter)``, e.g. ``("0.weight", W)``; shared parameters once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(qualified_name, Tensor)`` for every buffer (running statistics, counters)."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all below it."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity, batch norm uses its running averages."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter; returns ``self``."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient to ``None`` (or to zeros with ``set_to_none=False``)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = _wrap(backend.get_array_module(p.data).zeros_like(p.data), False, None)

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every sub-module (children first), then on ``self``; returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype) -> Module:
        """Convert parameters (and their gradients) and floating buffers to ``dtype`` in place.

        >>> import ngrad
        >>> ngrad.nn.Linear(2, 1).to(ngrad.float64).weight.dtype
        dtype('float64')
        """
        dt = numpy.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"Module.to: expected a floating dtype, got {dt}")
        for p in self.parameters():
            _cast_in_place(p, dt)
        for b in self.buffers():
            if b.dtype.kind == "f":
                _cast_in_place(b, dt)
        return self

    def float(self) -> Module:
        return self.to(numpy.float32)

    def double(self) -> Module:
        return self.to(numpy.float64)

    # ------------------------------------------------------- state dicts
    def _state_entries(self):
        """``(key, tensor)`` for every parameter and persistent buffer, in ``state_dict`` order."""
        for mod_name, mod in self.named_modules(remove_duplicate=False):
            pre = f"{mod_name}." if mod_name else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    yield pre + name, p
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    yield pre + name, b

    def state_dict(self) -> dict:
        """Every parameter and persistent buffer as ``{qualified_name: numpy array}``.

        The arrays are copies, so a saved state stays as it was while training
        goes on (keep it as the best weights, write it with ``numpy.savez``).
        """
        return {key: backend.to_numpy(t.data).copy() for key, t in self._state_entries()}

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays (or Tensors) from ``state_dict`` into the parameters and buffers.

        Nothing is changed unless every check passes. A shape mismatch is always
        an error; with ``strict`` (the default) so are missing and unexpected
        keys. Values are cast to each parameter's dtype.

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``, both empty after a strict load.
        """
        own = dict(self._state_entries())
        values = {k: (v.data if isinstance(v, Tensor) else v) for k, v in state_dict.items()}
        missing = [k for k in own if k not in values]
        unexpected = [k for k in values if k not in own]
        problems = []
        if strict and missing:
            problems.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing))
        if strict and unexpected:
            problems.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected))
        for k, v in values.items():
            if k in own and tuple(numpy.shape(v)) != own[k].shape:
                problems.append(f"size mismatch for {k}: copying a value of shape {tuple(numpy.shape(v))} "
                                f"from the state dict, the shape in the current model is {own[k].shape}")
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(problems))
        with no_grad():
            for k, v in values.items():
                if k in own:
                    _copy_into(own[k], v)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ configs
    def get_config(self) -> dict:
        """The constructor's keyword arguments as a JSON-serialisable dict.

        ``type(self)(**self.get_config())`` builds a fresh module of the same
        architecture. Modules whose ``__init__`` takes arguments override this.
        """
        import inspect

        takes = [p for p in inspect.signature(type(self).__init__).parameters.values()
                 if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if takes:
            raise NotImplementedError(
                f"{type(self).__name__}.get_config(): define it to return the keyword arguments "
                f"of __init__ ({', '.join(p.name for p in takes)}) so the model can be rebuilt from JSON"
            )
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Module:
        """Build a module from :meth:`get_config`'s output (``cls(**config)``)."""
        return cls(**config)

    # -------------------------------------------------------------- text
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr``; layers override it."""
        return ""

    def __repr__(self):
        lines = [s for s in [self.extra_repr()] if s]
        for name, child in self._modules.items():
            lines.append(f"({name}): " + repr(child).replace("\n", "\n  "))
        if not self._modules:
            return f"{type(self).__name__}({lines[0] if lines else ''})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def summary(self, input_shape=None, **kwargs) -> str:
        """Print and return a Keras-style table of layers, output shapes and parameter counts.

        See :func:`ngrad.nn.summary`.
        """
        from ngrad.nn.summary import summary

        return summary(self, input_shape, **kwargs)


def _discard(name, *dicts):
    for d in dicts:
        if d is not None:
            d.pop(name, None)


def _cast_in_place(t: Tensor, dt) -> None:
    if t.data.dtype != dt:
        t.data = t.data.astype(dt)
    if t.grad is not None and t.grad.dtype != dt:
        t.grad = _wrap(t.grad.data.astype(dt), False, None)


def _copy_into(t: Tensor, value) -> None:
    xp = backend.get_array_module(t.data)
    value = xp.asarray(value)
    if t.data.flags.writeable:
        t.data[...] = value
    else:
        t.data = value.astype(t.dtype, copy=True)
