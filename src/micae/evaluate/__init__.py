"""``micae evaluate``: a trained run's autoencoder and the ECON-T chip's algorithms on any data, per e-link count.

* :mod:`~micae.evaluate.data`: which wafers (a file's rows, or generated wafers) and their provenance
* :mod:`~micae.evaluate.autoencoder`: the run's QAT model and float twin on CALQ, back in CALQ units
* :mod:`~micae.evaluate.candidates`, :mod:`~micae.evaluate.scoring`, :mod:`~micae.evaluate.block`: what each
  algorithm sent and its figures (also used by ``micae train`` for metrics.json's ``elinks`` block)
* :mod:`~micae.evaluate.schema`: evaluation.json as a typed, versioned model and its loader
* :mod:`~micae.evaluate.page`, :mod:`~micae.evaluate.figures`: evaluation.md / evaluation.html
* :mod:`~micae.evaluate.run`: the command
"""

from micae.evaluate.schema import SCHEMA_VERSION, Evaluation, load_evaluation

__all__ = ["SCHEMA_VERSION", "Evaluation", "load_evaluation"]
