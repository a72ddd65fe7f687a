from ..runners import UsageError


class DockerUnavailable(UsageError):
    """No Docker engine is reachable; the message says how to start one or to use --backend=local."""
