"""What the image layers share: argument normalisation, layout checks and JSON-able configs."""
from __future__ import annotations

import operator

from ngrad.errors import ShapeError

CHANNELS_FIRST = ("channels_first", "NCHW")
CHANNELS_LAST = ("channels_last", "NHWC")


def pair(value, what: str, owner: str) -> tuple:
    """An int or a pair of ints as a pair of positive ints."""
    if isinstance(value, int):
        value = (value, value)
    try:
        a, b = (operator.index(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {what} must be an int or a pair of ints, got {value!r}") from None
    if a < 1 or b < 1:
        raise ValueError(f"{owner}: {what} must be positive, got {value!r}")
    return a, b


def padding_arg(padding, owner: str):
    """``'valid'``, ``'same'``, an int, (ph, pw) or ((top, bottom), (left, right)), lists read as tuples."""
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{owner}: padding must be 'valid', 'same' or numbers, got {padding!r}")
        return padding
    if isinstance(padding, int):
        return padding
    try:
        return tuple(p if isinstance(p, int) else tuple(int(q) for q in p) for p in padding)
    except TypeError:
        raise ValueError(f"{owner}: padding must be 'valid', 'same', an int, (ph, pw) or "
                         f"((top, bottom), (left, right)); got {padding!r}") from None


def data_format_arg(data_format: str, owner: str) -> str:
    """``'channels_first'`` or ``'channels_last'`` (``'NCHW'`` / ``'NHWC'`` accepted)."""
    if data_format in CHANNELS_FIRST:
        return "channels_first"
    if data_format in CHANNELS_LAST:
        return "channels_last"
    raise ValueError(f"{owner}: data_format must be 'channels_first' (NCHW) or 'channels_last' (NHWC), "
                     f"got {data_format!r}")


def jsonable(value):
    """Tuples (nested) as lists, for a config that goes through JSON."""
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    return value


def check_image(layer, x, channels: int | None = None) -> None:
    """Raise a ShapeError naming ``layer`` unless ``x`` is a 4-D batch with ``channels`` channels.

    ``layer.data_format`` says where the channels are. A batch whose channels
    sit on the other axis gets a hint about ``data_format``.
    """
    last = layer.data_format == "channels_last"
    want = f"(N, H, W, {channels if channels is not None else 'C'})" if last \
        else f"(N, {channels if channels is not None else 'C'}, H, W)"
    if x.ndim != 4:
        raise ShapeError(f"{layer!r}: expected a 4-D input {want}, got shape {tuple(x.shape)}")
    got = x.shape[3 if last else 1]
    if channels is not None and got != channels:
        other = x.shape[1 if last else 3]
        hint = ""
        if other == channels:
            hint = (" (the channels look like they are on the other axis: pass data_format="
                    f"'{'channels_first' if last else 'channels_last'}' or transpose the batch)")
        raise ShapeError(f"{layer!r}: expected {channels} input channels, input {want}, "
                         f"got shape {tuple(x.shape)} with {got} channels{hint}")
