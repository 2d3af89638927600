"""Op specs, one module per op family; each defines ``SPECS``, a list of ``OpSpec``."""
