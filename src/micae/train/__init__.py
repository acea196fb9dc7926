"""Quantization-aware training of MICAE models, their baselines and artifacts.

This package is also the Python API's ``micae.train(config, out=..., force=...)`` (:func:`micae.api.train`):
once any ``micae.train.*`` module is imported (``micae.convert`` reads a run's ``econt.elinks`` through
:mod:`micae.train.econt_config`), the name ``micae.train`` is this package, so calling it calls the API.
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        """:func:`micae.api.train`: train a run and return its typed metrics."""
        from micae.api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
