"""Optimizer state dicts keyed by parameter name, and their flat form.

An optimizer's ``state_dict()`` is::

    {"state": {name: {key: ndarray or number}},            # e.g. "fc1.weight": {"step": 3, "exp_avg": ...}
     "param_groups": [{hyperparameter: value, ..., "params": [name, ...]}]}

Names come from ``named_parameters()`` (or are ``"group{g}.param{i}"``), so
loading matches parameters by name, never by position (the mistake of
PyTorch issue 1489), and a mismatch is reported by name. Its flat form for
safetensors is :func:`ngrad.io.flatten_state`'s (see
``Optimizer.flat_state_dict``).
"""
from __future__ import annotations

from numbers import Number

from ngrad.backend import get_array_module, to_numpy

_GROUP_KEYS = ("params", "param_names")


# ----------------------------------------------------------------- export
def export(opt) -> dict:
    """``opt.state_dict()``: copies of the state arrays, plain numbers, names."""
    state, groups = {}, []
    for group in opt.param_groups:
        for p, name in zip(group["params"], group["param_names"]):
            entry = opt.state.get(p)
            if entry:
                state[name] = {key: _plain(value) for key, value in entry.items()}
        hyper = {key: _plain(value) for key, value in group.items() if key not in _GROUP_KEYS}
        groups.append({**hyper, "params": list(group["param_names"])})
    return {"state": state, "param_groups": groups}


def _plain(value):
    """A NumPy copy of an array; a Python number for a NumPy scalar."""
    if hasattr(value, "shape") and not isinstance(value, Number):
        a = to_numpy(value)
        return a.copy() if a is value else a
    if isinstance(value, Number) and hasattr(value, "item"):
        return value.item()
    return value


# ------------------------------------------------------------------- load
def load(opt, state_dict: dict) -> None:
    """``opt.load_state_dict``: check everything by name, then apply."""
    cls = type(opt).__name__
    saved_groups, saved_state = _layout(cls, state_dict)
    _raise(cls, _name_problems(opt, saved_groups, saved_state))
    hypers = [_saved_hyper(g, s) for g, s in zip(opt.param_groups, saved_groups)]
    for group, hyper in zip(opt.param_groups, hypers):
        opt._check({**group, **hyper})
    where = {n: (p, gi) for gi, g in enumerate(opt.param_groups) for p, n in zip(g["params"], g["param_names"])}
    problems = []
    for name, entry in saved_state.items():
        p, gi = where[name]
        problems += _entry_problems(opt, name, entry, p, {**opt.param_groups[gi], **hypers[gi]})
    _raise(cls, problems)
    for group, hyper in zip(opt.param_groups, hypers):
        group.update(hyper)
    opt.state = {where[n][0]: _to_param(e, where[n][0]) for n, e in saved_state.items() if e}


def _layout(cls: str, sd) -> tuple[list, dict]:
    """The ``param_groups`` and ``state`` of ``sd``, or a ``ValueError``."""
    ok = isinstance(sd, dict) and isinstance(sd.get("state"), dict) and isinstance(sd.get("param_groups"), list)
    ok = ok and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in sd["param_groups"])
    if not ok:
        raise ValueError(
            f"{cls}.load_state_dict: expected {{'state': {{name: {{...}}}}, 'param_groups': "
            f"[{{..., 'params': [names]}}]}} as returned by state_dict(), got {type(sd).__name__}"
        )
    return sd["param_groups"], sd["state"]


def _name_problems(opt, saved_groups: list, saved_state: dict) -> list:
    """Group count, missing and unexpected names, and names in the wrong group."""
    if len(saved_groups) != len(opt.param_groups):
        return [f"the saved state has {len(saved_groups)} param groups, this optimizer has {len(opt.param_groups)}"]
    current = [g["param_names"] for g in opt.param_groups]
    here = {n for names in current for n in names}
    saved = [n for g in saved_groups for n in g["params"]]
    saved_set = set(saved)
    problems = []
    missing = [n for names in current for n in names if n not in saved_set]
    unexpected = [n for n in saved if n not in here] + [n for n in saved_state if n not in here and n not in saved_set]
    if missing:
        problems.append(f"missing parameters {missing}")
    if unexpected:
        problems.append(f"unexpected parameters {unexpected}")
    if not problems:
        for gi, (names, group) in enumerate(zip(current, saved_groups)):
            if set(names) != set(group["params"]):
                moved = sorted(set(names) ^ set(group["params"]))
                problems.append(f"param group {gi} holds other parameters in the saved state: {moved}")
    return problems


def _saved_hyper(group: dict, saved: dict) -> dict:
    """The saved group's hyperparameters, tuples restored where JSON made lists."""
    hyper = {}
    for key, value in saved.items():
        if key in _GROUP_KEYS:
            continue
        if isinstance(group.get(key), tuple) and isinstance(value, list):
            value = tuple(value)
        hyper[key] = value
    return hyper


def _entry_problems(opt, name: str, entry, p, group: dict) -> list:
    """Wrong keys or wrong shapes in one parameter's saved state."""
    if not isinstance(entry, dict):
        return [f"the state of {name!r} is a {type(entry).__name__}, expected a dict"]
    expected = set(opt._state_keys(group))
    if entry and set(entry) != expected:
        return [f"the state of {name!r} has keys {sorted(entry)}, {type(opt).__name__} expects {sorted(expected)}"]
    problems = []
    for key, value in entry.items():
        if isinstance(value, Number):
            continue
        if not hasattr(value, "shape"):
            problems.append(f"the state {name!r}[{key!r}] is a {type(value).__name__}, expected an array or a number")
        elif tuple(value.shape) != p.data.shape:
            problems.append(
                f"shape mismatch for {name!r}[{key!r}]: saved {tuple(value.shape)}, the parameter has {p.data.shape}"
            )
    return problems


def _to_param(entry: dict, p) -> dict:
    """Copy a saved entry onto ``p``'s device and dtype; numbers as Python numbers."""
    xp = get_array_module(p.data)
    return {k: _plain(v) if isinstance(v, Number) else xp.array(v, dtype=p.data.dtype) for k, v in entry.items()}


def _raise(cls: str, problems: list) -> None:
    if problems:
        raise ValueError(f"{cls}.load_state_dict: " + "; ".join(problems))
