"""Version of the bitnet Python package."""

__version__ = "0.1.0"
