"""Helpers shared by the tests: data builders, database plumbing, assertions.

The fixtures built on them are in tests/conftest.py. Tests import helpers from here, never
from conftest.
"""
