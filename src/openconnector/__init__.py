"""OpenConnector: pull data from the systems an organisation runs into typed registers."""

__version__ = "0.1.0"
