"""The help of the commands a team reads first: what they do and how they exit (issue 21)."""

from __future__ import annotations

from appauth_conformance.frontends import cli


def _help(*words: str) -> str:
    parser = cli.parser()
    for w in words:  # the subparser of each word, as argparse would reach it
        parser = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices[w]
    return " ".join(parser.format_help().split())


def test_run_help_describes_the_command_and_every_exit_code():
    text = _help("run")
    assert "Run the vector corpus" in text and "results.json, report.md and report.html" in text
    for code in ("0 every selected runner conforms", "1 a failure", "2 a usage or set-up error", "130 interrupted"):
        assert code in text, code


def test_images_build_help_says_what_it_builds_and_from_what():
    text = _help("images", "build")
    assert "Build (or reuse" in text and "`image` or `dockerfile`" in text and "cannot be built" in text
    assert "with --backend=docker: every version variant" not in text  # always Docker here
    assert "--matrix Docker only: every version variant of each runner" in text
