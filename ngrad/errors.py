"""Exceptions ngrad raises on bad input."""


class ShapeError(ValueError):
    """Shapes that do not fit an op or a layer; the message names the op and the shapes."""


class DTypeError(TypeError):
    """A dtype that an op cannot take (e.g. float labels where integer classes are needed)."""
