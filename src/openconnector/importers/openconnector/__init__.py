"""Import the original OpenConnector's exported JSON (sources, mappings, synchronizations) as a YAML
project: ``openconnector import openconnector PATH...``.

Every setting with an equivalent is carried over; every setting without one is in the
:class:`~openconnector.importers.openconnector.report.Report` with its file, key and why.
Credentials never reach the YAML. Importing the same files twice gives byte-identical YAML.
"""

from openconnector.importers.openconnector.project import (
    HEADER,
    ImportResult,
    import_openconnector,
    render_yaml,
    validate_output,
)
from openconnector.importers.openconnector.reading import ExportReadError, classify
from openconnector.importers.openconnector.report import Entry, EnvVar, Report

__all__ = [
    "HEADER",
    "Entry",
    "EnvVar",
    "ExportReadError",
    "ImportResult",
    "Report",
    "classify",
    "import_openconnector",
    "render_yaml",
    "validate_output",
]
