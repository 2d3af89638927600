"""ngrad's op library: one op family per module, forward and backward side by side."""
