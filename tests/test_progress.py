"""The progress line of a run: what the run is doing, never a rate of nothing (issue 21)."""

from __future__ import annotations

import io

from appauth_conformance.execution.progress import Progress, Tally


def _lines(tally: Tally, stream: io.StringIO) -> list[str]:
    tally.show()
    return stream.getvalue().splitlines()


def test_before_the_first_outcome_the_line_says_the_phase_not_zero_per_second():
    stream = io.StringIO()
    tally = Tally(100, Progress(stream, live=False, every=0), auto=False, phase="building the runner images")
    (line,) = _lines(tally, stream)
    assert "building the runner images" in line and "/s" not in line and "0/100" not in line
    tally.count(failed=False)
    last = _lines(tally, stream)[-1]
    assert "1/100 outcomes" in last and "/s" in last
