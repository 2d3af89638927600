"""Layer configs: module classes by name, so a model saved as JSON architecture can be rebuilt."""
from __future__ import annotations

_classes: dict = {}


def register(cls, name: str | None = None):
    """Register ``cls`` under ``name`` (default: its class name) and its qualified name.

    Every ``Module`` subclass is registered when it is defined. A later class of
    the same short name takes that name over (a class redefined in a notebook),
    except the names of ngrad's own layers: a user's ``Linear`` is registered
    under its qualified ``"package.module.Linear"`` name only, and
    :func:`to_config` writes that name for it. Usable as a decorator.
    """
    short = name or cls.__name__
    current = _classes.get(short)
    if current is None or name is not None or not _is_builtin(current) or _is_builtin(cls):
        _classes[short] = cls
    _classes[_qualified(cls)] = cls
    return cls


def _qualified(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_builtin(cls) -> bool:
    return cls.__module__.startswith("ngrad.")


def class_name(cls) -> str:
    """The name :func:`to_config` writes for ``cls``: the short name unless another class holds it."""
    return cls.__name__ if _classes.get(cls.__name__) is cls else _qualified(cls)


def get_layer_class(name: str):
    """The Module subclass registered as ``name`` (e.g. ``"Linear"``)."""
    try:
        return _classes[name]
    except KeyError:
        raise KeyError(
            f"no layer class named {name!r} is registered; define (import) the class before "
            f"rebuilding the model, or register it with ngrad.nn.register_layer"
        ) from None


register_layer = register


def to_config(module) -> dict:
    """``{"class": class name, "config": module.get_config()}``: a module's architecture as JSON data."""
    return {"class": class_name(type(module)), "config": module.get_config()}


def from_config(config: dict):
    """Rebuild a module (tree) from :func:`to_config`'s form.

    >>> import json
    >>> from ngrad import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> text = json.dumps(nn.to_config(model))
    >>> nn.from_config(json.loads(text))
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    """
    if not isinstance(config, dict) or "class" not in config:
        raise ValueError(f'from_config: expected {{"class": ..., "config": ...}}, got {config!r:.200}')
    return get_layer_class(config["class"]).from_config(dict(config.get("config") or {}))
