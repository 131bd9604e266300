"""`registry bench`: measurements of the registry's own code against reference tools, written as JSON
under benchmarks/results/. `--guard` measures the upload guard (guard.py); the scale benchmark of the
whole pipeline is to join it as another part of the same command."""
