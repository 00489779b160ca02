"""A demo REST source (fake CRM people) for the quickstart, the tests and the benchmarks.

``DemoServer(records=500).start()`` serves it in a background thread; ``python -m
openconnector.demo --port 8765 --records 500`` serves it in the foreground.
"""

from openconnector.demo.people import People
from openconnector.demo.server import DEFAULT_PER_PAGE, MAX_PER_PAGE, DemoServer

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "DemoServer", "People"]
