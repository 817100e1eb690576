"""icv-permits: pre-checks and reviews ICV road-test and demonstration applications (Anhui 2025)."""

__version__ = "0.1.0"
