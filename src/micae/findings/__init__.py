"""The MICAE findings study (``micae findings``): the seed projects' six claims, tested on digits and HGCAL data.

``config`` reads the study file, ``solitary`` trains untied solitary encoders, ``compare`` runs the three
approaches of findings 1-4, ``latent_sweep`` runs finding 5 on micae's Dask sweep, ``verdicts`` decides
every claim from the numbers by stated rules, ``analysis`` gathers the checks, ``plots`` and ``page``
write findings.html, ``study`` runs it all.
"""

from micae.findings.config import StudyConfig, load_study
from micae.findings.study import rejudge, run_findings

__all__ = ["StudyConfig", "load_study", "rejudge", "run_findings"]
