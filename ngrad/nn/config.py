"""Layer configs: module classes by name, so a model saved as JSON architecture can be rebuilt."""
from __future__ import annotations

_classes: dict = {}


def register(cls, name: str | None = None):
    """Register ``cls`` under ``name`` (default: its class name) and its qualified name.

    Every ``Module`` subclass is registered when it is defined; a later class of
    the same short name takes that name over (its qualified
    ``"package.module.Class"`` name stays unique). Usable as a decorator.
    """
    _classes[name or cls.__name__] = cls
    _classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


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
    return {"class": type(module).__name__, "config": module.get_config()}


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
