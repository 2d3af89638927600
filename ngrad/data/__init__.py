"""Data: generated and bundled datasets, the course's files, batching, splits, preprocessing.

>>> from ngrad.data import load_planar_dataset
>>> X, y = load_planar_dataset()
>>> X.shape, y.shape
((400, 2), (400,))
"""
from ngrad.data.course_files import DataFormatError, find_course_file, load_cat_vs_noncat, load_football, load_signs
from ngrad.data.datasets import flatten_images, load_breast_cancer, load_digits, one_hot, scale_pixels
from ngrad.data.generators import (
    load_circles,
    load_extra_datasets,
    load_moons,
    load_planar_dataset,
    make_blobs,
    make_circles,
    make_gaussian_quantiles,
    make_moons,
    make_no_structure,
)
from ngrad.data.loader import DataLoader, random_mini_batches
from ngrad.data.preprocessing import Standardizer
from ngrad.data.split import check_same_distribution, split_indices, train_dev_split, train_dev_test_split

__all__ = [
    "DataFormatError", "DataLoader", "Standardizer", "check_same_distribution", "find_course_file",
    "flatten_images", "load_breast_cancer", "load_cat_vs_noncat", "load_circles", "load_digits",
    "load_extra_datasets", "load_football", "load_moons", "load_planar_dataset", "load_signs",
    "make_blobs", "make_circles", "make_gaussian_quantiles", "make_moons", "make_no_structure",
    "one_hot", "random_mini_batches", "scale_pixels", "split_indices", "train_dev_split",
    "train_dev_test_split",
]
