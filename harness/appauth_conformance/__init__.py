"""appauth-conformance: a cross-language conformance suite for the App ID authentication signature."""

__version__ = "0.1.0"
