"""micae: quantization-aware encoders to verified FPGA firmware.

Data flows one way: ``data -> models/train -> hls -> verify/rtl -> report``.
"""

__version__ = "0.1.0"
