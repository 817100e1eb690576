"""The application model and identifier validation."""

from .application import SCHEMA_VERSION, Activity, Application

__all__ = ["SCHEMA_VERSION", "Activity", "Application"]
