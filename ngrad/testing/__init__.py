"""Tools to check ops: gradient checking and the registry of differentiable ops."""
from ngrad.testing.gradcheck import GradcheckResult, assert_gradcheck, gradcheck, relative_difference

__all__ = ["GradcheckResult", "assert_gradcheck", "gradcheck", "relative_difference"]
