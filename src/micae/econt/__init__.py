"""The ECON-T chip's own data path, from ``shared/docs/econt-datapath.md`` (each rule cites its part there).

* :mod:`micae.econt.codes`: the unsigned float codes xEyM (4E3M cell energies, 5E3M and 5E4M sums).
* :mod:`micae.econt.links`: what fits on L output e-links (AE latent bits, Best Choice cells, STC counts).
* :mod:`micae.econt.normaliser`: the autoencoder's input normalisation and its 5E4M module sum.

Where the ECON-T emulator and CMSSW disagree, micae follows the emulator (it describes the chip) and offers the
CMSSW form as an option, named as such.
"""
