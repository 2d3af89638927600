"""Transfer learning: freeze and unfreeze layers, fine-tune from layer k, replace the head,
load pretrained weights by name with a report.

The recipe of Course 4 week 2 (MobileNetV2 on the alpaca images), in ngrad::

    base = pretrained.features                       # the network without its top
    freeze(base)                                     # no gradients, BatchNorm in inference mode
    replace_head(model, nn.Linear(256, 1))           # a new classifier for the new task
    ... fit the head ...
    freeze_until(model, 120)                         # then fine-tune from layer 120 on
    ... fit again with a smaller learning rate ...

Frozen BatchNorm follows Keras: a BatchNorm layer inside a frozen part
normalises with its running statistics and does not update them, even while
the model is in training mode (so ``Model.fit`` on a model with a frozen base
keeps the base exactly as it was). ``freeze`` sets ``layer.frozen = True`` on
:class:`~ngrad.nn.layers.normalization_conv.BatchNorm2d`; other modules with
running statistics (``BatchNorm1d``) are run in evaluation mode while frozen.

"Layers" are the leaf modules in definition order (Keras's ``model.layers``
for a Sequential model): :func:`layers` lists them with their qualified names.

>>> from ngrad import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> freeze_until(model, 2)
2
>>> [p.requires_grad for p in model.parameters()]
[False, False, True, True]
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

import numpy

from ngrad.nn.module import Module

__all__ = ["MatchReport", "freeze", "freeze_until", "is_frozen", "layers", "load_matching", "replace_head",
           "unfreeze"]


# ------------------------------------------------------------------ layers
def layers(model: Module) -> list:
    """``[(qualified name, module), ...]``: the leaf modules of ``model`` in definition order."""
    return [(name, m) for name, m in model.named_modules() if name and not m._modules] or [("", model)]


def _selected(model: Module, pattern):
    """The modules of ``model`` to act on: all of it, or those whose qualified name matches ``pattern``.

    ``pattern`` is a glob (``"features.*"``, ``"*bn*"``), a list of globs,
    or a list of modules. A matching module brings everything below it.
    """
    if pattern is None:
        return [model]
    patterns = [pattern] if isinstance(pattern, (str, Module)) else list(pattern)
    chosen = []
    for p in patterns:
        if isinstance(p, Module):
            chosen.append(p)
            continue
        hits = [m for name, m in model.named_modules() if name and fnmatch.fnmatchcase(name, p)]
        if not hits:
            names = ", ".join(n for n, _ in model.named_modules() if n)
            raise KeyError(f"no layer of {type(model).__name__} matches {p!r}; its layers are: {names[:500]}")
        chosen += hits
    return chosen


def _has_running_stats(m: Module) -> bool:
    return "running_mean" in m._buffers and m._buffers["running_mean"] is not None


def _set_frozen(m: Module, frozen: bool) -> None:
    """Keras's ``trainable`` for one module: parameters, and BatchNorm's inference mode."""
    for p in m.parameters(recurse=False):
        p.requires_grad_(not frozen)
    if not _has_running_stats(m):
        return
    if "frozen" in vars(m) or hasattr(type(m), "frozen"):
        m.frozen = frozen
    else:
        _eval_while_frozen(m, frozen)


def _eval_while_frozen(m: Module, frozen: bool) -> None:
    """Run a normalization layer without a ``frozen`` switch in evaluation mode while frozen (forward hooks)."""
    handles = m.__dict__.get("_frozen_hooks")
    if frozen and handles is None:
        def before(module, args):
            object.__setattr__(module, "_frozen_training", module.training)
            object.__setattr__(module, "training", False)

        def after(module, args, out):
            object.__setattr__(module, "training", module.__dict__.pop("_frozen_training", module.training))

        object.__setattr__(m, "_frozen_hooks", (m.register_forward_pre_hook(before), m.register_forward_hook(after)))
    elif not frozen and handles is not None:
        for h in handles:
            h.remove()
        del m.__dict__["_frozen_hooks"]


def freeze(model: Module, pattern=None) -> Module:
    """Freeze ``model`` (or its layers matching ``pattern``): no gradients, BatchNorm in inference mode.

    Parameters
    ----------
    model : Module
    pattern : str, list of str or list of Module, optional
        Glob(s) over qualified layer names (``"stage2*"``, ``"features.*"``)
        or the modules themselves; everything below a match is frozen.

    Returns ``model``.
    """
    for chosen in _selected(model, pattern):
        for m in chosen.modules():
            _set_frozen(m, True)
    return model


def unfreeze(model: Module, pattern=None) -> Module:
    """Undo :func:`freeze` on ``model`` (or the layers matching ``pattern``); returns ``model``."""
    for chosen in _selected(model, pattern):
        for m in chosen.modules():
            _set_frozen(m, False)
    return model


def freeze_until(model: Module, k) -> int:
    """Freeze the first ``k`` layers of ``model`` and unfreeze the rest (fine-tuning from layer ``k``).

    ``k`` is an index into :func:`layers` (negative counts from the end) or
    a layer's qualified name (that layer is the first one trained), as the
    course's ``for layer in base_model.layers[:fine_tune_at]: layer.trainable = False``.
    Returns the number of frozen layers.
    """
    leaves = layers(model)
    if isinstance(k, str):
        names = [n for n, _ in leaves]
        if k not in names:
            raise KeyError(f"freeze_until: {type(model).__name__} has no layer named {k!r}; "
                           f"layers: {', '.join(names[:40])}{' ...' if len(names) > 40 else ''}")
        k = names.index(k)
    if not -len(leaves) <= int(k) <= len(leaves):
        raise IndexError(f"freeze_until: k={k} is out of range for a model of {len(leaves)} layers")
    k = len(leaves) + int(k) if int(k) < 0 else int(k)
    for i, (_, m) in enumerate(leaves):
        _set_frozen(m, i < k)
    return k


def is_frozen(module: Module) -> bool:
    """True when ``module`` has parameters and none of them requires grad (or it is a frozen BatchNorm)."""
    params = list(module.parameters())
    if params:
        return not any(p.requires_grad for p in params)
    return bool(getattr(module, "frozen", False) or "_frozen_hooks" in module.__dict__)


# ------------------------------------------------------------------ heads
def replace_head(model: Module, head: Module, name: str | None = None) -> Module:
    """Put ``head`` in place of ``model``'s last child (or the child called ``name``); returns the old one.

    The new head is trainable; a model built from a ``Sequential`` (all of
    :mod:`ngrad.models`) saves its new structure with :func:`ngrad.io.save_model`.
    """
    children = list(model._modules)
    if not children:
        raise ValueError(f"replace_head: {type(model).__name__} has no child modules to replace")
    if name is None:
        name = children[-1]
    if name not in model._modules:
        raise KeyError(f"replace_head: {type(model).__name__} has no child {name!r}; children: {', '.join(children)}")
    old = model._modules[name]
    setattr(model, name, head)
    unfreeze(head)
    return old


# ------------------------------------------------------------------ loading by name
@dataclass
class MatchReport:
    """What :func:`load_matching` did, entry by entry.

    Attributes
    ----------
    matched : list of str
        Loaded: in the model and the file, same shape.
    missing : list of str
        In the model, not in the file (left as they were).
    unexpected : list of str
        In the file, not in the model (ignored).
    mismatched : list of (name, file shape, model shape)
        In both with different shapes (left as they were), e.g. a new head.
    """

    matched: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    mismatched: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every entry of the model was loaded and nothing was left over."""
        return not (self.missing or self.unexpected or self.mismatched)

    def __str__(self) -> str:
        lines = [f"loaded {len(self.matched)} of {len(self.matched) + len(self.missing) + len(self.mismatched)} "
                 f"model entries; {len(self.missing)} missing, {len(self.unexpected)} unexpected, "
                 f"{len(self.mismatched)} with another shape"]
        lines += [f"  missing (kept): {k}" for k in self.missing]
        lines += [f"  unexpected (ignored): {k}" for k in self.unexpected]
        lines += [f"  shape mismatch (kept): {k}: file {fs} vs model {ms}" for k, fs, ms in self.mismatched]
        return "\n".join(lines)


def _state_arrays(path_or_state, prefix: str | None) -> dict:
    """``{name: array}`` from a state dict or a weights / model / checkpoint / plain safetensors file."""
    if isinstance(path_or_state, (str, os.PathLike)):
        from ngrad.io import load_tensors

        arrays, meta = load_tensors(path_or_state)
        if prefix is None and meta.get("format") == "checkpoint":
            prefix = "model/"
    else:
        arrays = {k: getattr(v, "data", v) for k, v in dict(path_or_state).items()}
    if prefix:
        arrays = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    return arrays


def load_matching(model: Module, path_or_state, strict: bool = False, prefix: str | None = None) -> MatchReport:
    """Load the entries of a file (or state dict) whose names and shapes match ``model``'s.

    The pretrained base of another model loads into a new one that shares
    its layer names: entries with the same name and shape are copied (cast
    to the model's dtype), everything else is reported and left alone.

    Parameters
    ----------
    model : Module
    path_or_state : path or dict
        A ``.safetensors`` / ``.npz`` file (``save_weights``, ``save_model``,
        ``save_checkpoint``, or any safetensors file) or ``{name: array}``.
    strict : bool
        Raise (changing nothing) unless every entry matches.
    prefix : str, optional
        Use only the file's entries under ``prefix`` (stripped), e.g.
        ``"features."`` to load a base saved inside a bigger model.

    Returns
    -------
    MatchReport
    """
    arrays = _state_arrays(path_or_state, prefix)
    own = model.state_dict()
    report = MatchReport()
    for key, value in own.items():
        if key not in arrays:
            report.missing.append(key)
        elif tuple(numpy.shape(arrays[key])) != value.shape:
            report.mismatched.append((key, tuple(numpy.shape(arrays[key])), value.shape))
        else:
            report.matched.append(key)
    report.unexpected = [k for k in arrays if k not in own]
    if strict and not report.ok:
        raise RuntimeError(f"load_matching(strict=True) into {type(model).__name__}: nothing loaded\n{report}")
    model.load_state_dict({k: arrays[k] for k in report.matched}, strict=False)
    return report
