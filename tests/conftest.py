import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _reset_default_dtype():
    """Tests that switch the default dtype never leak it into other tests."""
    import ngrad

    before = ngrad.get_default_dtype()
    yield
    ngrad.set_default_dtype(before)
