# cython: language_level=3
"""The recursion behind the exponential Hawkes likelihood, in C."""

from libc.math cimport exp

import numpy as np


def excitation(const double[::1] times, double beta):
    """``A_i = sum_{j < i} exp(-beta (t_i - t_j))`` via ``A_i = exp(-beta dt_i) (1 + A_{i-1})``."""
    cdef Py_ssize_t i, n = times.shape[0]
    out = np.zeros(n, dtype=np.float64)
    cdef double[::1] a = out
    with nogil:
        for i in range(1, n):
            a[i] = exp(-beta * (times[i] - times[i - 1])) * (1.0 + a[i - 1])
    return out
