"""The console script's face: `appauth-conformance` and `python -m appauth_conformance.cli`
(the CLI itself is frontends/cli.py)."""

from appauth_conformance.frontends.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
