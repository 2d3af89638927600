"""``summary``: a Keras-style table of a model's layers, output shapes and parameter counts.

Output shapes come from one dummy forward pass (no gradients, evaluation
mode, so no running statistic moves and no dropout mask is drawn), recorded
by a global forward hook. Parameter counts follow Keras: a layer's ``Param #``
includes its floating-point buffers (BatchNorm's running mean and variance),
and those buffers, like frozen parameters, count as non-trainable.
"""
from __future__ import annotations

from ngrad.creation import ones
from ngrad.function import no_grad
from ngrad.nn.hooks import register_module_forward_hook
from ngrad.tensor import Tensor


def _count(tensors) -> int:
    return sum(t.size for t in tensors)


def _state_counts(module, recurse: bool):
    """(trainable, non-trainable) element counts of a module's parameters and floating buffers."""
    params = list(module.parameters(recurse=recurse))
    buffers = [b for b in module.buffers(recurse=recurse) if b.dtype.kind == "f"]
    trainable = _count(p for p in params if p.requires_grad)
    return trainable, _count(p for p in params if not p.requires_grad) + _count(buffers)


def _shape_text(out) -> str:
    if isinstance(out, Tensor) or hasattr(out, "shape"):
        shape = tuple(out.shape)
        return str(("None",) + shape[1:]).replace("'None'", "None") if shape else "()"
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_shape_text(o) for o in out) + "]"
    return type(out).__name__


def _dummy_inputs(input_shape, dtype, batch_size):
    """One ones-filled batch per shape; a leading None (Keras's batch axis) is dropped."""
    shapes = input_shape if input_shape and isinstance(input_shape[0], (tuple, list)) else [input_shape]
    inputs = []
    for shape in shapes:
        shape = tuple(shape)
        if shape and shape[0] is None:
            shape = shape[1:]
        inputs.append(ones((batch_size, *shape), dtype=dtype))
    return inputs


def _trace(model, inputs) -> dict:
    """Run ``model(*inputs)`` once; ``{id(module): output}`` in call order (first call of each)."""
    outputs = {}

    def record(module, args, out):
        outputs.setdefault(id(module), out)

    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad(), register_module_forward_hook(record):
            model(*inputs)
    finally:
        for m, flag in flags:
            object.__setattr__(m, "training", flag)
    return outputs


def _rows(model, outputs):
    """(name (type), output shape, param count) for the layers, in call order then definition order."""
    named = [(n, m) for n, m in model.named_modules() if n]
    order = {id(m): i for i, m in enumerate(outputs)} if outputs else {}
    named.sort(key=lambda nm: order.get(id(nm[1]), len(order)))
    rows = []
    for name, m in named:
        leaf = not m._modules
        if not leaf and not (m._parameters or m._buffers):
            continue
        trainable, frozen = _state_counts(m, recurse=leaf)
        shape = _shape_text(outputs[id(m)]) if id(m) in outputs else ("?" if outputs else "")
        rows.append((f"{name} ({type(m).__name__})", shape, f"{trainable + frozen:,}"))
    return rows


def summary(model, input_shape=None, input=None, dtype=None, batch_size: int = 2, print_fn=print) -> str:
    """Print and return a Keras-layout summary of ``model``.

    Parameters
    ----------
    model : Module
    input_shape : tuple, or list of tuples for several inputs, optional
        One example's shape without the batch axis (Keras's convention; a
        leading ``None`` is dropped), e.g. ``(784,)``. Used to find each
        layer's output shape with a dummy forward pass.
    input : Tensor or tuple of Tensors, optional
        A real batch to run instead of a dummy one.
    dtype : dtype, optional
        Of the dummy batch (default: the default dtype).
    batch_size : int
        Rows of the dummy batch (shown as ``None``).
    print_fn : callable or None
        Called with the text (``None`` prints nothing).

    Returns
    -------
    str
        The table. Totals are taken over the whole model (each shared
        parameter once): Trainable = parameters that require grad;
        Non-trainable = frozen parameters plus floating buffers.

    >>> from ngrad import nn
    >>> text = nn.summary(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8)), (4,), print_fn=None)
    >>> text.splitlines()[-4:-1]
    ['Total params: 72', 'Trainable params: 56', 'Non-trainable params: 16']
    """
    outputs = {}
    if input is not None or input_shape is not None:
        inputs = (input if isinstance(input, (tuple, list)) else (input,)) if input is not None \
            else _dummy_inputs(input_shape, dtype, batch_size)
        outputs = _trace(model, inputs)
    rows = _rows(model, outputs)
    trainable, frozen = _state_counts(model, recurse=True)
    text = _layout(type(model).__name__, rows, trainable, frozen)
    if print_fn is not None:
        print_fn(text)
    return text


def _layout(title, rows, trainable, frozen) -> str:
    header = ("Layer (type)", "Output Shape", "Param #")
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) + 4 for i in range(3)]
    widths[0], widths[1], widths[2] = max(widths[0], 29), max(widths[1], 26), max(widths[2], 10)
    total = sum(widths)

    def line(cells):
        return (cells[0].ljust(widths[0]) + cells[1].ljust(widths[1]) + cells[2].rjust(widths[2] - 2)).rstrip()

    out = [f'Model: "{title}"', "_" * total, line(header), "=" * total]
    for i, row in enumerate(rows):
        out.append(line(row))
        out.append("_" * total if i < len(rows) - 1 else "=" * total)
    if not rows:
        out.append("=" * total)
    out += [f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {frozen:,}", "_" * total]
    return "\n".join(out)
