"""The pytest plugin's face: the `appauth_conformance` entry point, and `-p appauth_conformance.plugin`
where plugin autoloading is off (the plugin itself is frontends/plugin.py)."""

from appauth_conformance.frontends.plugin import *  # noqa: F403 - pytest finds hooks and fixtures by name here
from appauth_conformance.frontends.plugin import __all__ as __all__
