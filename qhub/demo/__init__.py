"""A small bundled REST API (pets, users, orders) for the example suite, tests and benchmarks."""

from qhub.demo.server import DemoServer

__all__ = ["DemoServer"]
