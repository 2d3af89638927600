"""Saving and loading: tensors, weights, whole models and training checkpoints.

Files
-----
Every file is one **safetensors** file (``.safetensors``; needs the optional
``safetensors`` package, ``pip install "ngrad[io]"``) or one NumPy ``.npz``
archive (``.npz``; NumPy alone). The suffix of the path picks the format when
saving; loading recognises the format from the file's first bytes.

* ``save_weights`` / ``load_weights``: a module's ``state_dict()`` (parameters
  and persistent buffers) under their qualified names (``"0.weight"``).
* ``save_model`` / ``load_model``: the same arrays plus the architecture as
  JSON (``ngrad.nn.to_config``) in the file's metadata, so ``load_model(path)``
  rebuilds the module without its Python code being run again. A whole model
  is a single file, so it is replaced atomically in one step.
* ``save_checkpoint`` / ``load_checkpoint``: weights under ``"model/..."``,
  the optimizer state under ``"optimizer/..."`` and any JSON-able training
  state (epoch, RNG state, ...) in the metadata.
* ``save`` / ``load``: the generic pair (a module, a ``Model`` or a flat dict
  of arrays; ``load`` returns what the file holds).

>>> import os, tempfile
>>> import numpy as np
>>> from ngrad import nn
>>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save_model(model, path)
>>> clone = load_model(path)
>>> all(np.array_equal(v, clone.state_dict()[k]) for k, v in model.state_dict().items())
True

The metadata is one JSON document (safetensors: the ``"ngrad"`` entry of the
header's ``__metadata__``; npz: the uint8 array ``"__ngrad__"``) with a
SHA-256 digest over it and every array, checked on load.

Safety
------
* Nothing is ever read with pickle: safetensors holds raw bytes, ``.npz``
  files are opened with ``allow_pickle=False``, configs are JSON.
* Every write is atomic: the bytes go to a temporary file in the target's
  directory, which is flushed and fsynced, then renamed over the target with
  ``os.replace`` and the directory is fsynced. A crash at any moment leaves
  either the old file or the new one, never a mix.
* A truncated, corrupt or foreign file raises :class:`CorruptFileError` naming
  the file and what is wrong, before any module or optimizer is changed.
"""
from __future__ import annotations

import hashlib
import io as _bytesio
import json
import os
import tempfile

import numpy

__all__ = [
    "CorruptFileError",
    "atomic_write",
    "file_format",
    "load",
    "load_checkpoint",
    "load_model",
    "load_tensors",
    "load_weights",
    "save",
    "save_checkpoint",
    "save_model",
    "save_tensors",
    "save_weights",
]

_META_KEY = "ngrad"  # safetensors metadata entry holding the JSON document
_DIGEST_KEY = "ngrad.sha256"
_NPZ_META = "__ngrad__"  # npz entry (uint8) holding the JSON document
_NPZ_DIGEST = "__ngrad_sha256__"
_FORMATS = {".safetensors": "safetensors", ".npz": "npz"}


class CorruptFileError(ValueError):
    """A file that cannot be loaded: truncated, corrupt, or not an ngrad/safetensors/npz file."""


# ------------------------------------------------------------ atomic writes
def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably.

    The bytes go to a temporary file next to ``path`` (same directory, hence
    same file system), which is flushed and fsynced before ``os.replace``
    renames it over ``path``; the directory is then fsynced so the rename
    itself survives a crash. On any error the temporary file is removed and
    ``path`` is untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _chmod_like_new_file(f.fileno())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _chmod_like_new_file(fd: int) -> None:
    """Give the temporary file (created 0600) the mode ``open()`` would give a new file."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """fsync a directory so a rename in it is durable (a no-op where unsupported)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------- arrays + metadata
def save_tensors(tensors: dict, path, metadata: dict | None = None) -> None:
    """Write ``{name: array}`` and a JSON-able ``metadata`` dict to ``path`` atomically.

    The suffix picks the format: ``.safetensors`` or ``.npz``. Arrays may be
    NumPy/CuPy arrays or Tensors; they are stored as C-contiguous NumPy arrays.
    """
    fmt = file_format(path)
    arrays = {str(k): _to_numpy(v, k, path) for k, v in tensors.items()}
    meta_json = json.dumps(metadata or {}, sort_keys=True)
    digest = _digest(arrays, meta_json)
    if fmt == "safetensors":
        data = _safetensors_module(path).save(arrays, metadata={_META_KEY: meta_json, _DIGEST_KEY: digest})
    else:
        data = _npz_bytes(arrays, meta_json, digest, path)
    atomic_write(path, data)


def load_tensors(path) -> tuple[dict, dict]:
    """Read a file written by :func:`save_tensors` (or any safetensors / pickle-free npz file).

    Returns
    -------
    (tensors, metadata) : ({name: ndarray}, dict)
        ``metadata`` is ``{}`` for files written by other tools.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    CorruptFileError
        The file is empty, truncated, corrupt, or in neither format.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise CorruptFileError(f"cannot load {path!r}: the file is empty")
    if data[:4] == b"PK\x03\x04":
        arrays, meta_json, digest = _read_npz(data, path)
    else:
        arrays, meta_json, digest = _read_safetensors(data, path)
    if digest is not None and digest != _digest(arrays, meta_json):
        raise CorruptFileError(
            f"cannot load {path!r}: the file is corrupt (its checksum does not match its contents)"
        )
    return arrays, _parse_meta(meta_json, path)


def file_format(path) -> str:
    """``"safetensors"`` or ``"npz"`` from the suffix of ``path``; ``ValueError`` otherwise."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in _FORMATS:
        raise ValueError(
            f"cannot tell the file format of {os.fspath(path)!r}: use the suffix "
            f"'.safetensors' (needs the safetensors package) or '.npz'"
        )
    return _FORMATS[suffix]


def _to_numpy(value, name, path):
    from ngrad.backend import to_numpy

    a = to_numpy(getattr(value, "data", value))
    if a.dtype.kind not in "biufc" or a.dtype.byteorder == ">":
        raise TypeError(f"cannot save {name!r} to {os.fspath(path)!r}: unsupported dtype {a.dtype}")
    return a if a.flags.c_contiguous else a.copy(order="C")


def _digest(arrays: dict, meta_json: str) -> str:
    """SHA-256 over the metadata and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(meta_json.encode())
    for name in sorted(arrays):
        a = arrays[name]
        a = a if a.flags.c_contiguous else a.copy(order="C")
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.reshape(-1).view(numpy.uint8) if a.size else b"")
    return h.hexdigest()


def _safetensors_module(path):
    try:
        import safetensors.numpy as st
    except ImportError:
        raise ImportError(
            f"reading or writing {os.fspath(path)!r} needs the safetensors package: "
            f'pip install "ngrad[io]" (or save to a .npz path instead)'
        ) from None
    return st


def _npz_bytes(arrays: dict, meta_json: str, digest: str, path) -> bytes:
    for reserved in (_NPZ_META, _NPZ_DIGEST):
        if reserved in arrays:
            raise ValueError(f"cannot save to {os.fspath(path)!r}: {reserved!r} is a reserved name")
    buf = _bytesio.BytesIO()
    numpy.savez(
        buf,
        **arrays,
        **{_NPZ_META: numpy.frombuffer(meta_json.encode(), numpy.uint8),
           _NPZ_DIGEST: numpy.frombuffer(digest.encode(), numpy.uint8)},
    )
    return buf.getvalue()


def _read_npz(data: bytes, path):
    """(arrays, metadata JSON or '{}', digest or None) from npz bytes; never unpickles."""
    try:
        with numpy.load(_bytesio.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as e:  # zipfile.BadZipFile, ValueError (pickled objects), EOFError, ...
        raise CorruptFileError(f"cannot load {path!r}: not a readable .npz file ({_reason(e)})") from None
    meta = arrays.pop(_NPZ_META, None)
    digest = arrays.pop(_NPZ_DIGEST, None)
    try:
        meta_json = "{}" if meta is None else meta.tobytes().decode()
        digest = None if digest is None else digest.tobytes().decode()
    except UnicodeDecodeError:
        raise CorruptFileError(f"cannot load {path!r}: its metadata is corrupt") from None
    return arrays, meta_json, digest


def _read_safetensors(data: bytes, path):
    """(arrays, metadata JSON or '{}', digest or None) from safetensors bytes."""
    header = _safetensors_header(data, path)
    st = _safetensors_module(path)
    try:
        arrays = st.load(data)
    except Exception as e:  # safetensors_rust.SafetensorError and friends
        raise CorruptFileError(f"cannot load {path!r}: not a readable safetensors file ({_reason(e)})") from None
    meta = header.get("__metadata__") or {}
    return arrays, meta.get(_META_KEY, "{}"), meta.get(_DIGEST_KEY)


def _safetensors_header(data: bytes, path) -> dict:
    """The JSON header of a safetensors file; checks the sizes it announces."""
    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if n < 2 or 8 + n > len(data):
        raise CorruptFileError(
            f"cannot load {path!r}: not a safetensors or .npz file, or truncated "
            f"({len(data)} bytes)"
        )
    try:
        header = json.loads(data[8:8 + n])
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except Exception as e:
        raise CorruptFileError(f"cannot load {path!r}: its safetensors header is corrupt ({_reason(e)})") from None
    if 8 + n + end != len(data):
        raise CorruptFileError(
            f"cannot load {path!r}: the file is truncated or corrupt (the header announces "
            f"{8 + n + end} bytes, the file has {len(data)})"
        )
    return header


def _parse_meta(meta_json: str, path) -> dict:
    try:
        meta = json.loads(meta_json)
    except ValueError as e:
        raise CorruptFileError(f"cannot load {path!r}: its metadata is corrupt ({e})") from None
    if not isinstance(meta, dict):
        raise CorruptFileError(f"cannot load {path!r}: its metadata is not a JSON object")
    return meta


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


# ------------------------------------------------------ nested state <-> flat
def flatten_state(state, prefix: str = "") -> tuple[dict, object]:
    """Split a nested state (dicts, lists, tuples, arrays, numbers) into arrays and JSON.

    Returns ``(arrays, skeleton)``: every array (and NumPy scalar, kept with
    its exact dtype) goes to ``arrays`` under a key starting with ``prefix``;
    ``skeleton`` is the same structure, JSON-serialisable, with references in
    their place. :func:`unflatten_state` puts them back.
    """
    arrays: dict = {}
    return arrays, _flatten(state, prefix, arrays)


def _flatten(obj, key: str, arrays: dict):
    from ngrad.tensor import Tensor

    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, numpy.generic):
        arrays[key] = numpy.asarray(obj)
        return {"__scalar__": key}
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):  # NumPy or CuPy array
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _flatten(v, f"{key}/{k}", arrays) for k, v in obj.items()}
        return {"__items__": [[_flatten(k, f"{key}/k{i}", arrays), _flatten(v, f"{key}/{i}", arrays)]
                              for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        items = [_flatten(v, f"{key}/{i}", arrays) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"__tuple__": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot save state entry {key!r} of type {type(obj).__name__} (not an array, number or str)")


def unflatten_state(skeleton, arrays: dict):
    """Inverse of :func:`flatten_state`."""
    if isinstance(skeleton, list):
        return [unflatten_state(v, arrays) for v in skeleton]
    if not isinstance(skeleton, dict):
        return skeleton
    if "__array__" in skeleton:
        return arrays[skeleton["__array__"]]
    if "__scalar__" in skeleton:
        return arrays[skeleton["__scalar__"]][()]
    if "__tuple__" in skeleton:
        return tuple(unflatten_state(v, arrays) for v in skeleton["__tuple__"])
    if "__items__" in skeleton:
        return {_hashable(unflatten_state(k, arrays)): unflatten_state(v, arrays) for k, v in skeleton["__items__"]}
    return {k: unflatten_state(v, arrays) for k, v in skeleton.items()}


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


# ----------------------------------------------------------------- weights
def _module_of(obj):
    """The ``nn.Module`` inside ``obj`` (a Module or an ``ngrad.Model`` wrapper)."""
    if hasattr(obj, "state_dict"):
        return obj  # a module (even one with a child named "module")
    module = getattr(obj, "module", None)
    return module if hasattr(module, "state_dict") else obj


def save_weights(model, path) -> None:
    """Save a module's parameters and persistent buffers (its ``state_dict()``) to ``path``."""
    module = _module_of(model)
    save_tensors(module.state_dict(), path, {"format": "weights", **_version()})


def load_weights(model, path, strict: bool = True):
    """Load arrays saved by :func:`save_weights` (or :func:`save_model`) into a module.

    Raises ``CorruptFileError`` for a bad file and ``RuntimeError`` (from
    ``load_state_dict``) for missing, unexpected or mis-shaped entries; in
    both cases the module is unchanged.
    """
    module = _module_of(model)
    arrays, meta = load_tensors(path)
    if meta.get("format") == "checkpoint":
        arrays = _strip(arrays, "model/")
    return module.load_state_dict(arrays, strict=strict)


# ------------------------------------------------------------ whole models
def save_model(model, path, extra: dict | None = None) -> None:
    """Save a module's architecture (JSON config) and weights in one file.

    ``extra`` is any JSON-able dict stored alongside (e.g. a fitted
    ``Standardizer``'s ``get_config()``); :func:`load_model` with
    ``return_extra=True`` gives it back.
    """
    module = _module_of(model)
    meta = {"format": "model", **_version(), "config": _to_config(module), "extra": extra or {}}
    save_tensors(module.state_dict(), path, meta)


def load_model(path, return_extra: bool = False):
    """Rebuild a module saved by :func:`save_model` and load its weights.

    Returns the module (in eval mode), or ``(module, extra)`` with
    ``return_extra``.
    """
    arrays, meta = load_tensors(path)
    module = _build_model(arrays, meta, path)
    return (module, meta.get("extra", {})) if return_extra else module


def _build_model(arrays: dict, meta: dict, path):
    """A module rebuilt from a file's config, with the file's weights, in eval mode."""
    if "config" not in meta:
        raise ValueError(
            f"{os.fspath(path)!r} holds no architecture (format {meta.get('format', 'unknown')!r}); "
            f"build the module in code and use load_weights(module, path)"
        )
    module = _from_config(meta["config"], path)
    if meta.get("format") == "checkpoint":
        arrays = _strip(arrays, "model/")
    module.load_state_dict(arrays, strict=True)
    module.eval()
    return module


def _to_config(module) -> dict:
    from ngrad.nn import config as nn_config

    try:
        cfg = nn_config.to_config(module)
        json.dumps(cfg, allow_nan=False)
    except (NotImplementedError, TypeError, ValueError) as e:
        raise TypeError(
            f"cannot save the architecture of {type(module).__name__}: {e}. "
            f"Save its weights with save_weights() instead, or give the module a JSON-able get_config()"
        ) from e
    return cfg


def _from_config(cfg, path):
    from ngrad.nn import config as nn_config

    try:
        return nn_config.from_config(cfg)
    except KeyError as e:
        raise ValueError(f"cannot rebuild the model in {os.fspath(path)!r}: {e.args[0]}") from None


# ------------------------------------------------------------- checkpoints
def save_checkpoint(model, path, optimizer=None, state: dict | None = None) -> None:
    """Save everything needed to resume training: weights, optimizer state, training state.

    Parameters
    ----------
    model : nn.Module or ngrad.Model
        For a ``Model``, its compiled optimizer is saved unless ``optimizer``
        is given.
    optimizer : Optimizer, optional
        Its ``state_dict()`` (moments, step counts, param_groups) is stored.
    state : dict, optional
        JSON-able training state (epoch, batch, RNG states, history, ...).
        Arrays and NumPy scalars inside it are stored exactly, as arrays.
    """
    module = _module_of(model)
    optimizer = optimizer if optimizer is not None else getattr(model, "optimizer", None)
    tensors = {f"model/{k}": v for k, v in module.state_dict().items()}
    meta = {"format": "checkpoint", **_version()}
    try:
        meta["config"] = _to_config(module)
    except TypeError:
        pass  # custom modules without a config still get resumable checkpoints
    if optimizer is not None:
        opt_arrays, meta["optimizer"] = flatten_state(optimizer.state_dict(), "optimizer")
        tensors.update(opt_arrays)
    state_arrays, meta["state"] = flatten_state(state or {}, "state")
    tensors.update(state_arrays)
    save_tensors(tensors, path, meta)


def load_checkpoint(path, model=None, optimizer=None) -> dict:
    """Restore a checkpoint written by :func:`save_checkpoint`; returns its training ``state``.

    Weights go into ``model`` and optimizer state into ``optimizer`` (for an
    ``ngrad.Model``, its optimizer by default). Everything is read and
    checked before anything is changed.
    """
    arrays, meta = load_tensors(path)
    if meta.get("format") != "checkpoint":
        raise ValueError(
            f"{os.fspath(path)!r} is not a training checkpoint (format {meta.get('format', 'unknown')!r})"
        )
    state = unflatten_state(meta.get("state", {}), arrays)
    optimizer = optimizer if optimizer is not None else getattr(model, "optimizer", None)
    if optimizer is not None and "optimizer" not in meta:
        raise ValueError(f"{os.fspath(path)!r} holds no optimizer state")
    module = None if model is None else _module_of(model)
    previous = None if module is None else module.state_dict()
    if module is not None:
        module.load_state_dict(_strip(arrays, "model/"), strict=True)
    if optimizer is not None:
        try:
            optimizer.load_state_dict(unflatten_state(meta["optimizer"], arrays))
        except BaseException:
            if module is not None:
                module.load_state_dict(previous)  # all or nothing
            raise
    return state


def _strip(arrays: dict, prefix: str) -> dict:
    n = len(prefix)
    return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix)}


def _version() -> dict:
    from ngrad import __version__

    return {"ngrad_version": __version__}


# ---------------------------------------------------------------- generic
def save(obj, path) -> None:
    """Save a module or ``ngrad.Model`` (architecture + weights) or a flat ``{name: array}`` dict."""
    if isinstance(obj, dict):
        save_tensors(obj, path, {"format": "tensors", **_version()})
    elif hasattr(_module_of(obj), "state_dict"):
        save_model(obj, path)
    else:
        raise TypeError(
            f"ngrad.save: expected a Module, an ngrad.Model or a dict of arrays, got {type(obj).__name__}"
        )


def load(path):
    """Load what :func:`save` wrote: a module for a model file, else ``{name: ndarray}``.

    Checkpoints load as their flat arrays; use :func:`load_checkpoint` to resume.
    """
    arrays, meta = load_tensors(path)
    if meta.get("format") == "model":
        return _build_model(arrays, meta, path)
    return arrays
