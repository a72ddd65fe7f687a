"""The front doors: the CLI, the pytest plugin and `docs` / `examples` / `vectors show` (guide). They
parse options and present results; the pipeline is below them.
"""
