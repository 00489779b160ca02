"""Lazy package namespaces: the names are there, unknown ones say so, and a helper process that
needs one small module does not import the rest."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_the_packages_export_their_names_on_first_use() -> None:
    import openconnector.audit as audit
    import openconnector.pipelines as pipelines
    import openconnector.registers as registers
    from openconnector.registers.store import Store

    assert registers.Store is Store and "Store" in registers.__all__
    assert audit.AuditTrail.__name__ == "AuditTrail"
    assert pipelines.PipelineBusy is registers.PipelineBusy
    for package in (audit, pipelines, registers):
        assert all(getattr(package, name) is not None for name in package.__all__)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import openconnector.registers as registers

    with pytest.raises(AttributeError, match=r"module 'openconnector\.registers' has no attribute 'Stor'"):
        registers.Stor  # noqa: B018


def test_the_writer_process_imports_neither_alembic_nor_pydantic_nor_the_engine() -> None:
    """~24 MB of every big run's memory: the writer process went from 76 to 52 MB resident."""
    probe = (
        "import sys, openconnector.pipelines.writer;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'pydantic', 'jinja2', 'httpx'}),"
        "'openconnector.pipelines.engine' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] False"
