"""Campaigns: the exploration machine run for a budget over many processes and machines.

`python -m dualsync.harness.campaign --client legacy --budget 10m --workers 2 --out DIR`.
A campaign is a sequence of runs, one hypothesis exploration per seed; the seeds come from a base
seed (`seeds.py`), so `--shard i/N` runs every N-th of them and the shards of a CI matrix together
run exactly the seeds one unsharded campaign would. Failing examples go to hypothesis's example
database (`exampledb.py`: a directory, Redis, a previous CI run's artifact) and are replayed first
by the next campaign; each new finding is shrunk and written to the output directory as a
scenario file, one per verdict. `coordinator.py` runs the worker processes (`worker.py`) and
shows progress (`progress.py`); `report.py` and `html.py` write what a run found.
"""
