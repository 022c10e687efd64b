"""Real-world corpus: model files written by real libraries and shipped in PyPI packages."""
