"""ivr-engine: a 050 virtual-number and IVR engine for Asterisk."""

__version__ = "0.1.0"
