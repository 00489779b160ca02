"""Importers: turn another product's exported configuration into our YAML project.

Each importer lives in its own package and shares nothing but the config contract it writes
(DESIGN.md "Configuration"), so adding one never touches another.
"""
