"""Data: datasets, batching, splits and preprocessing."""
