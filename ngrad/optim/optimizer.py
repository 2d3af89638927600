"""``Optimizer``: parameter groups, per-parameter state, and the update loop.

Every optimizer in ``ngrad.optim`` is a small subclass of :class:`Optimizer`
that validates its hyperparameters (``_check``) and updates one parameter
group in place (``_step_group``). The base class owns what they share:
parsing ``params`` into groups, naming every parameter, ``zero_grad``, the
``step`` loop (under ``no_grad``, skipping parameters without a gradient),
scratch buffers for ``out=`` arithmetic, and a ``state_dict`` keyed by
parameter *name* (see :mod:`ngrad.optim.state_dict`).
"""
from __future__ import annotations

import json
import math
from collections import Counter
from numbers import Real

from ngrad.backend import get_array_module
from ngrad.errors import DTypeError, ShapeError
from ngrad.function import enable_grad, no_grad
from ngrad.optim import state_dict as _sd
from ngrad.tensor import Tensor, _wrap

# scratch slots: ``TMP`` for intermediate results, ``GRAD`` for g + wd * W
TMP, GRAD = 0, 1


class Optimizer:
    """Base class of all optimizers (PyTorch's vocabulary and layout).

    Parameters
    ----------
    params : iterable
        What to optimize, in one of three forms:

        - Tensors (``model.parameters()``);
        - ``(name, Tensor)`` pairs (``model.named_parameters()``): the names
          key :meth:`state_dict`, so a checkpoint survives a reordering of
          the model's parameters;
        - dicts, one per parameter group, each with ``"params"`` in either
          form above and any hyperparameters that override ``defaults``,
          e.g. ``[{"params": body}, {"params": head, "lr": 1e-2}]``.

        Tensors given without a name are called ``"group{g}.param{i}"`` (the
        i-th tensor of the g-th group): stable as long as the optimizer is
        built from the same parameters in the same order.
    **defaults
        Hyperparameters for every group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (list of Tensors), ``"param_names"``
        (list of str, same order) and the hyperparameters. Schedulers and
        users may change hyperparameters (``group["lr"] = ...``) between steps.
    state : dict
        Per-parameter state, ``{Tensor: {key: array or number}}``, created at
        a parameter's first update.
    """

    def __init__(self, params, **defaults):
        if isinstance(params, (Tensor, dict)) or hasattr(params, "named_parameters"):
            hint = "pass model.named_parameters()" if hasattr(params, "named_parameters") else "wrap it in a list"
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors, (name, Tensor) pairs "
                f"or group dicts, got a {type(params).__name__}; {hint}"
            )
        self.defaults = defaults
        self.param_groups: list[dict] = []
        self.state: dict = {}
        self._scratch: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, e.g. layers unfrozen while fine-tuning.

        ``param_group`` is a dict with ``"params"`` (Tensors or ``(name,
        Tensor)`` pairs) and optional hyperparameters; missing ones come from
        ``defaults``. A parameter may belong to one group only.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{type(self).__name__}: a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError(f"{type(self).__name__}: a param group needs a 'params' entry")
        gi = len(self.param_groups)
        params, names = _split_names(self, group["params"], gi)
        group["params"], group["param_names"] = params, names
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check(group)
        self._check_unique(params, names)
        self.param_groups.append(group)

    def _check_unique(self, params, names) -> None:
        """Reject a parameter or a name that some group already holds."""
        seen_ids = {id(p) for g in self.param_groups for p in g["params"]}
        seen_names = {n for g in self.param_groups for n in g["param_names"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen_ids.intersection(ids):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one group (or twice)")
        counts = Counter(names)
        dup = sorted(n for n in counts if counts[n] > 1 or n in seen_names)
        if dup:
            raise ValueError(f"{type(self).__name__}: duplicate parameter names {dup}")

    def _check(self, group: dict) -> None:
        """Validate a group's hyperparameters; subclasses raise ``ValueError``."""

    # -------------------------------------------------------------- step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``p.grad = None``).

        With ``set_to_none=False`` each existing gradient is replaced by a new
        zero tensor instead; the old gradient array is never written to.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None or set_to_none:
                    p.grad = None
                else:
                    p.grad = _wrap(get_array_module(p.grad.data).zeros_like(p.grad.data), False, None)

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place.

        ``closure`` (optional) re-evaluates the model and returns the loss; it
        runs with graph recording on, before the update. Returns its loss.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}._step_group is not implemented")

    def _grads(self, group: dict):
        """Yield ``(p, g)``: each parameter with a gradient and its array.

        ``g`` may be shared with other tensors: read it, never write it.
        """
        for i, p in enumerate(group["params"]):
            grad = p.grad
            if grad is None:
                continue
            g = grad.data
            if g.shape != p.data.shape:
                raise ShapeError(
                    f"{type(self).__name__}.step: the gradient of {group['param_names'][i]!r} has shape "
                    f"{g.shape}, the parameter has shape {p.data.shape}"
                )
            yield p, g

    def _state_of(self, p, group: dict) -> dict:
        """``self.state[p]``, created by ``_init_state`` at the first update."""
        state = self.state.get(p)
        if state is None:
            state = self.state[p] = self._init_state(p, group)
        return state

    def _init_state(self, p, group: dict) -> dict:
        """A parameter's fresh state (zeros buffers, ``step`` 0); override."""
        return {}

    def _state_keys(self, group: dict) -> tuple:
        """The keys a parameter's state holds once updated (for loading)."""
        return ()

    def _buffer(self, like, slot: int = TMP):
        """A reusable scratch array shaped like ``like`` (not part of the state)."""
        key = (type(like), like.shape, like.dtype, slot)
        buf = self._scratch.get(key)
        if buf is None:
            buf = self._scratch[key] = get_array_module(like).empty_like(like)
        return buf

    def _l2(self, g, W, weight_decay: float):
        """``g + weight_decay * W`` in a scratch buffer (``g`` itself when 0)."""
        if not weight_decay:
            return g
        d = self._buffer(W, GRAD)
        get_array_module(W).multiply(W, weight_decay, out=d)
        d += g
        return d

    def _add_scaled(self, W, alpha: float, x) -> None:
        """``W += alpha * x`` in place through a scratch buffer (``x`` may be it)."""
        tmp = self._buffer(W, TMP)
        get_array_module(W).multiply(x, alpha, out=tmp)
        W += tmp

    # -------------------------------------------------------- state dict
    def state_dict(self) -> dict:
        """The optimizer's state keyed by parameter name (arrays copied).

        Returns ``{"state": {name: {key: ndarray or number}}, "param_groups":
        [{hyperparameter: value, ..., "params": [name, ...]}]}``: NumPy arrays
        (copied, from the GPU too) and plain numbers, nothing else, so it
        fits JSON plus an array store. Parameters never updated have no
        entry. :meth:`flat_state_dict` gives the ``{str: ndarray}`` form.
        """
        return _sd.export(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a :meth:`state_dict`, matching parameters by name.

        Everything is checked before anything changes: the number of groups,
        the names of each group's parameters (missing and unexpected names
        are listed), the shape of every saved array and the state keys this
        optimizer expects. Hyperparameters (``lr``, ...) are restored too.
        Raises ``ValueError`` naming every problem found.
        """
        _sd.load(self, state_dict)

    def flat_state_dict(self, prefix: str = "optimizer") -> tuple[dict, dict]:
        """The state as ``(arrays, metadata)``: what a safetensors file stores.

        ``arrays`` maps keys such as ``"optimizer/state/fc1.weight/exp_avg"``
        to NumPy arrays; ``metadata`` is a JSON-serialisable skeleton of
        :meth:`state_dict` (hyperparameters, names, step counts) that refers
        to them. It is :func:`ngrad.io.flatten_state`'s format, the one
        ``ngrad.io.save_checkpoint`` writes. By hand::

            arrays, meta = opt.flat_state_dict()
            safetensors.numpy.save_file(arrays, path, metadata={"optimizer": json.dumps(meta)})
            ...
            opt.load_flat_state_dict(safetensors.numpy.load_file(path), meta_json)
        """
        from ngrad.io import flatten_state

        return flatten_state(self.state_dict(), prefix)

    def load_flat_state_dict(self, arrays: dict, metadata) -> None:
        """Load what :meth:`flat_state_dict` returned (``metadata`` as a dict or JSON text).

        Keys of ``arrays`` that ``metadata`` does not refer to (the model's
        weights, say) are ignored; parameters are matched by name.
        """
        from ngrad.io import unflatten_state

        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        try:
            state_dict = unflatten_state(metadata, arrays)
        except KeyError as e:
            raise ValueError(f"{type(self).__name__}.load_flat_state_dict: array {e.args[0]!r} is missing") from None
        self.load_state_dict(state_dict)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            hyper = ", ".join(f"{k}={v}" for k, v in group.items() if k not in ("params", "param_names"))
            lines.append(f"  group {i}: {len(group['params'])} params, {hyper}")
        return "\n".join(lines + [")"])


def _split_names(opt, params, gi: int):
    """Turn a group's ``params`` into a list of Tensors and a list of names."""
    if isinstance(params, Tensor):
        params = [params]
    elif isinstance(params, (set, frozenset)):
        raise TypeError(f"{type(opt).__name__}: params must be an ordered iterable, not a set")
    tensors, names = [], []
    for i, item in enumerate(params):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, p = item
        else:
            name, p = f"group{gi}.param{i}", item
        _check_param(opt, p, name)
        tensors.append(p)
        names.append(name)
    if not tensors:
        raise ValueError(f"{type(opt).__name__}: param group {gi} is empty")
    return tensors, names


def _check_param(opt, p, name: str) -> None:
    if not isinstance(p, Tensor):
        raise TypeError(
            f"{type(opt).__name__}: {name!r} is a {type(p).__name__}, expected a Tensor "
            f"(pass model.parameters() or model.named_parameters())"
        )
    if not p.is_leaf:
        raise ValueError(f"{type(opt).__name__}: can't optimize {name!r}, a non-leaf tensor (made by an op)")
    if p.data.dtype.kind != "f":
        raise DTypeError(f"{type(opt).__name__}: can't optimize {name!r} of dtype {p.dtype}, a non-floating tensor")


def zeros_like(p):
    """A zero state buffer shaped like parameter ``p`` (same dtype and device)."""
    return get_array_module(p.data).zeros_like(p.data)


def check_hyper(opt, name: str, value, low: float = 0.0, high: float = math.inf, open_high: bool = False) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high`` (``< high`` if ``open_high``)."""
    ok = isinstance(value, Real) and low <= value and (value < high if open_high else value <= high)
    if not ok:
        bound = f"[{low}, {high})" if open_high else f"[{low}, {high}]"
        raise ValueError(f"{type(opt).__name__}: invalid {name} {value!r}, expected a number in {bound}")
