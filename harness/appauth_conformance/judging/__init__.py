"""Judging an outcome: verdicts, the token checks (tokens), the catalogue of named mistakes (diagnosis/)
and the staged explanation of a failure (explain). Never runs anything.
"""
