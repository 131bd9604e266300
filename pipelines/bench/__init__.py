"""`registry bench`: measurements of the registry's own code, written as JSON under
benchmarks/results/. `--scale` runs the whole registry at a scale (scale.py, each run in its own
process: pipeline_run.py); `--guard` measures the upload guard alone against reference tools
(guard.py), and the scale benchmark includes those figures."""
