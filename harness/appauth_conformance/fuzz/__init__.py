"""Differential fuzzing: generate edge-aimed inputs, compare every runner with the oracle, triage, shrink, save.

One job per module (docs/fuzzing.md), each importing only those before it:

    edges         the fields, character classes and weights, emoji sequences, expire-time edges
    full_vectors  full Vectors the slow way (`make_vector`, `replace_inputs`), the oracle's layout
    generate      the seeded stream `Inputs` of light `FuzzInput`s, expected replies
    triage        input classes, fault kinds, `Group` and `Triage` (disagreements grouped by cause)
    shrink        simpler `candidates` and the `Shrinker` (through a live session)
    save          reproducer flags and `save_reproducers` (`--save`)
    priority      `Priority`: which runner gets the CPU first (the one the stream waits on)
    run           the `Fuzzer` (runners through `engine.Engine`, replies through `Session.replies`) and
                  its `FuzzReport`
    cli           the `fuzz` subcommand: `add_parser`, `cmd_fuzz`, `print_summary`

The names below are the package's public API: the CLI, the benchmark and the tests use
these, never a module's private names.
"""

from __future__ import annotations

from appauth_conformance.fuzz.cli import DEFAULT_COUNT, DEFAULT_SAVE_DIR, add_parser, cmd_fuzz, print_summary
from appauth_conformance.fuzz.edges import (
    CHARSETS,
    DATA_FIELDS,
    EMPTY_KEY,
    EXPIRE_EDGES,
    FIELDS,
    INT64_MAX,
    MIX_WEIGHTS,
    MODES,
    SEQUENCES,
    SPECIAL,
)
from appauth_conformance.fuzz.full_vectors import make_vector, pair_up, replace_inputs
from appauth_conformance.fuzz.generate import FuzzInput, Inputs, expected_replies
from appauth_conformance.fuzz.priority import Priority
from appauth_conformance.fuzz.run import DEFAULT_BATCH, Fuzzer, FuzzReport, RunnerRun, conforms
from appauth_conformance.fuzz.save import (
    FUZZ_FLAG,
    FUZZ_NOTE,
    REPRODUCER_FLAGS,
    cause_flag,
    cause_note,
    flagged_reproducer,
    reproducer_flags,
    save_reproducers,
)
from appauth_conformance.fuzz.shrink import MODE_ORDER, SIMPLE_EXPIRES, Shrinker, candidates, shrink_key
from appauth_conformance.fuzz.triage import (
    CLASS_PATTERNS,
    FAULT,
    FAULT_KINDS,
    LONG_FIELD,
    Group,
    Triage,
    char_class,
    expire_class,
    explained_by_subset,
    fault_kind,
    full_diagnosis,
    input_classes,
    input_repr,
    output_of,
    slug,
    stage_of,
    total_length,
)

__all__ = [
    "CHARSETS",
    "CLASS_PATTERNS",
    "DATA_FIELDS",
    "DEFAULT_BATCH",
    "DEFAULT_COUNT",
    "DEFAULT_SAVE_DIR",
    "EMPTY_KEY",
    "EXPIRE_EDGES",
    "FAULT",
    "FAULT_KINDS",
    "FIELDS",
    "FUZZ_FLAG",
    "FUZZ_NOTE",
    "INT64_MAX",
    "LONG_FIELD",
    "MIX_WEIGHTS",
    "MODES",
    "MODE_ORDER",
    "REPRODUCER_FLAGS",
    "SEQUENCES",
    "SIMPLE_EXPIRES",
    "SPECIAL",
    "FuzzInput",
    "FuzzReport",
    "Fuzzer",
    "Group",
    "Inputs",
    "Priority",
    "RunnerRun",
    "Shrinker",
    "Triage",
    "add_parser",
    "candidates",
    "cause_flag",
    "cause_note",
    "char_class",
    "cmd_fuzz",
    "conforms",
    "expected_replies",
    "expire_class",
    "explained_by_subset",
    "fault_kind",
    "flagged_reproducer",
    "full_diagnosis",
    "input_classes",
    "input_repr",
    "make_vector",
    "output_of",
    "pair_up",
    "print_summary",
    "replace_inputs",
    "reproducer_flags",
    "save_reproducers",
    "shrink_key",
    "slug",
    "stage_of",
    "total_length",
]
