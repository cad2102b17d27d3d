"""The empty model of the `python` format: the reference of its costs."""

import numpy as np


def predict(features):
    return np.zeros(len(features))
