"""Keja: rent operations for property agencies."""

__version__ = "0.1.0"
