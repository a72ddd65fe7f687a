"""Running runners: one long-lived process (session), many for one run (pipeline), where they run
(backends/: local, docker/), the runner registry and its Docker variants, declared runners and the
options shared by every front door, shards, progress and interrupts.
"""
