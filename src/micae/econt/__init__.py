"""The ECON-T chip's own data path, from ``shared/docs/econt-datapath.md`` (each rule cites its part there).

* :mod:`micae.econt.codes`: the unsigned float codes xEyM (4E3M cell energies, 5E3M and 5E4M sums).
* :mod:`micae.econt.links`: what fits on L output e-links (AE latent bits, Best Choice cells, STC counts).
* :mod:`micae.econt.normaliser`: the autoencoder's input normalisation and its 5E4M module sum.
* :mod:`micae.econt.algorithms`: the chip's non-ML algorithms at L e-links and the literature's forms, each
  decoded back into 48 cells (:class:`~micae.econt.transmission.Transmission`); built from
  :mod:`~micae.econt.mapping` (CALQ columns -> the chip's channels), :mod:`~micae.econt.batcher` (the Best
  Choice sorting network), :mod:`~micae.econt.best_choice`, :mod:`~micae.econt.super_trigger_cells`,
  :mod:`~micae.econt.threshold_sum` (with its buffer), :mod:`~micae.econt.repeater`,
  :mod:`~micae.econt.literature` and :mod:`~micae.econt.frame` (fields, 16-bit words, e-link words).

Where the ECON-T emulator and CMSSW disagree, micae follows the emulator (it describes the chip) and offers the
CMSSW form as an option, named as such.
"""
