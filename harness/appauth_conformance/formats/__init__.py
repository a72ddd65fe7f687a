"""The files the suite reads and writes: the JSON Schemas and their validators (schemas), results.json
(results), the runner protocol's replies (protocol), YAML and atomic file helpers, package data
(resources), command-line values checked (arguments). Imports only the core.
"""
