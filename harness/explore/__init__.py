"""Exploration: the races nobody wrote down.

`Session` drives one World synchronously, one scenario step at a time, and records every step it
ran, so whatever explores (the hypothesis machine, the exhaustive enumerator, a hunt) leaves a
program that is already a scenario file. `corpus` keeps the shrunk failures as such files and
replays them first; `killmatrix` proves the `pr` tier has teeth against every mutant.
"""
