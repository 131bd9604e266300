"""Synthetic registry generator: sites, monthly uploads in each site's export dialect, and the truth.

`generate_registry(out, sites, months, seed, messy, end_month, progress)` is the public API (the
`registry generate` CLI calls it). See registry.py for the files it writes and config.py for the model.
"""

from .registry import generate_registry

__all__ = ["generate_registry"]
