"""The vector corpus: load and validate (vectors), fill expected values and export (authoring), known
divergences (expectations).
"""
