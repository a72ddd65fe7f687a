"""python -m appauth_conformance.report {render,compare} ... (the same as `appauth-conformance report ...`)."""

import sys

from appauth_conformance.report.cli import main

sys.exit(main())
