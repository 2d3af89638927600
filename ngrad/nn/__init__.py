"""Neural-network building blocks."""
from ngrad.nn import functional

__all__ = ["functional"]
