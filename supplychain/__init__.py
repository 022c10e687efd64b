"""supplychain: model supply-chain security (hash, sign, scan, convert, AI-BOM, gate)."""

from supplychain._version import __version__

__all__ = ["__version__"]
