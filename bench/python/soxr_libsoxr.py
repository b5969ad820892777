"""A stand-in for python-soxr, which is not a Debian package: soxr.resample
on Debian's libsoxr (libsoxr0, the library python-soxr wraps) through
ctypes, with python-soxr's settings — float32 in and out, the named quality,
one thread. librosa_features.py installs it as `soxr` where the real module
cannot be imported, so that librosa (which imports soxr on load and
resamples between CQT octaves with it) can be timed on Debian."""

import ctypes

import numpy as np

_QUALITY = {"qq": 0, "lq": 1, "mq": 2, "hq": 4, "vhq": 6}  # SOXR_QQ … SOXR_VHQ
_FLOAT32_I = 0


class _IoSpec(ctypes.Structure):
    _fields_ = [("itype", ctypes.c_int), ("otype", ctypes.c_int), ("scale", ctypes.c_double),
                ("e", ctypes.c_void_p), ("flags", ctypes.c_ulong)]


class _QualitySpec(ctypes.Structure):
    _fields_ = [("precision", ctypes.c_double), ("phase_response", ctypes.c_double),
                ("passband_end", ctypes.c_double), ("stopband_begin", ctypes.c_double),
                ("e", ctypes.c_void_p), ("flags", ctypes.c_ulong)]


_lib = ctypes.CDLL("libsoxr.so.0")
_lib.soxr_io_spec.restype = _IoSpec
_lib.soxr_io_spec.argtypes = [ctypes.c_int, ctypes.c_int]
_lib.soxr_quality_spec.restype = _QualitySpec
_lib.soxr_quality_spec.argtypes = [ctypes.c_ulong, ctypes.c_ulong]
_lib.soxr_oneshot.restype = ctypes.c_char_p
_lib.soxr_oneshot.argtypes = [ctypes.c_double, ctypes.c_double, ctypes.c_uint, ctypes.c_void_p, ctypes.c_size_t,
                              ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p, ctypes.c_size_t,
                              ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(_IoSpec),
                              ctypes.POINTER(_QualitySpec), ctypes.c_void_p]


def resample(x, in_rate, out_rate, quality="HQ"):
    """One channel, as librosa calls it (numpy.apply_along_axis)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("soxr_libsoxr.resample takes one channel")
    io = _lib.soxr_io_spec(_FLOAT32_I, _FLOAT32_I)
    spec = _lib.soxr_quality_spec(_QUALITY[quality.lower().removeprefix("soxr_")], 0)
    out = np.empty(int(len(x) * out_rate / in_rate + 1), dtype=np.float32)
    done = ctypes.c_size_t(0)
    error = _lib.soxr_oneshot(in_rate, out_rate, 1, x.ctypes.data, len(x), None, out.ctypes.data, len(out),
                              ctypes.byref(done), ctypes.byref(io), ctypes.byref(spec), None)
    if error:
        raise RuntimeError(f"libsoxr: {error.decode()}")
    return out[: done.value]
