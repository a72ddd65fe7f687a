"""The pure core: the shared types (model), errors and exit codes, the formula and oracle (scheme),
the wire encoding of requests (wire), the vector files' text notation, diffs, and runner text made safe
(untrusted, faults). No I/O; imports nothing else of the package.
"""
