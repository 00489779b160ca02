"""A realistic xxllnc (Zaaksysteem) v1 case and the sub-mappings the case→zaak mapping calls.

The shipped configuration (compat/openconnector-configurations/xxllnc-zgw) has the case→zaak and
the milestone→status mappings; the other sub-mappings it calls by id (2, 3, 5, 6, 7) are not
shipped, so small ones are made up here in the same style.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openconnector.config.models import MappingConfig

from .compat import COMPAT

CONFIGS = COMPAT / "openconnector-configurations" / "xxllnc-zgw" / "mappings"


def load_original(path: Path) -> MappingConfig:
    """An original mapping export as a MappingConfig (metadata dropped, 'passTrough' as the PHP reads it)."""
    raw = json.loads(path.read_text())
    return MappingConfig(
        dialect="openconnector",
        mapping=raw.get("mapping") or {},
        cast=raw.get("cast") or {},
        unset=raw.get("unset") or [],
        passThrough=bool(raw.get("passThrough") or False),  # the files' 'passTrough' is ignored by PHP
    )


SUB_MAPPINGS: dict[str, dict[str, Any]] = {
    "2": {
        "mapping": {
            "toelichting": "outcome.instance.name",
            "resultaattype": "{% for rt in resultaattypen %}{% if rt.omschrijving == outcome.instance.name %}"
            "{{ rt.url }}{% endif %}{% endfor %}",
        },
        "cast": {"resultaattype": "unsetIfValue=="},
    },
    "3": {
        "mapping": {
            "betrokkeneType": "{% if requestor.instance.subject_type == 'person' %}natuurlijk_persoon"
            "{% else %}niet_natuurlijk_persoon{% endif %}",
            "roltoelichting": "role.instance.name",
            "roltype": "{% for rt in roltypen %}{% if rt.omschrijving == role.instance.name %}{{ rt.url }}"
            "{% endif %}{% endfor %}",
            "betrokkeneIdentificatie.geslachtsnaam": "requestor.instance.name",
        },
        "cast": {"roltype": "unsetIfValue=="},
    },
    "5": {"mapping": {"identificatie": "reference", "omschrijving": "instance.title"}},
    "6": {
        "mapping": {
            "naam": "name",
            "waarde": "{{ value|join(', ') }}",
            "eigenschap": "{% for e in eigenschappen %}{% if e.naam == name %}{{ e.url }}{% endif %}"
            "{% endfor %}",
        },
        "cast": {"eigenschap": "unsetIfValue=="},
    },
    "7": {"mapping": {"informatieobject": "reference", "titel": "instance.name", "zaak": "caseId"}},
}


def mappings() -> dict[str, MappingConfig]:
    """Every mapping the case→zaak mapping needs, by the ids it calls them with."""
    found = {k: MappingConfig(dialect="openconnector", **v) for k, v in SUB_MAPPINGS.items()}
    found["4"] = load_original(CONFIGS / "xxllnc-v1-milestone-to-zgw-status.json")
    found["case-to-zaak"] = load_original(CONFIGS / "xxllnc-v1-case-to-zgw-zaak.json")
    return found


def case(i: int) -> dict[str, Any]:
    """One made-up but realistically shaped xxllnc v1 case (with the synchronization's extra data)."""
    paid = i % 3
    return {
        "reference": f"7f1c2a34-0000-4000-8000-{i:012d}",
        "instance": {
            "number": 1000 + i,
            "subject": f"Aanvraag parkeervergunning {i}",
            "subject_external": None if i % 2 else f"Parkeervergunning voor kenteken {i}",
            "date_of_registration": "2024-03-01T09:15:00Z",
            "date_of_completion": None if i % 4 else "2024-03-20T16:00:00Z",
            "date_target": "2024-04-01T00:00:00Z",
            "channel_of_contact": "webformulier",
            "confidentiality": {"original": "Openbaar", "mapped": "openbaar"},
            "price": "-" if paid == 0 else "25.00",
            "payment_status": None if paid == 1 else "paid",
            "outcome": {"instance": {"name": "Verleend"}} if i % 4 == 0 else None,
            "route": {"instance": {"role": {"instance": {"name": "Behandelaar"}}}},
            "requestor": {"instance": {"name": f"Jansen {i}", "subject_type": "person"}},
            "milestone": {"instance": {"date_modified": "2024-03-02T10:00:00Z", "phase_label": "Behandelen"}},
            "attributes": {
                "kenteken": [f"AB-{i % 100:02d}-CD"],
                "aanvraag_type": ["Nieuw"],
                "bijlagen": [[{"filename": "foto.jpg"}]],
            },
            "stalled_until": "2024-03-10" if i % 10 == 0 else None,
        },
        "casetype": {"result": {"reference": "ct-parkeren", "instance": {"title": "Parkeervergunning"}}},
        "zaaktype": {
            "resultaattypen": [{"omschrijving": "Verleend", "url": "https://zgw.example/rt/1"}],
            "roltypen": [{"omschrijving": "Behandelaar", "url": "https://zgw.example/rol/1"}],
            "statustypen": [
                {"omschrijving": "Registreren", "_self": {"id": "st-1"}},
                {"omschrijving": "Behandelen", "_self": {"id": "st-2"}},
            ],
            "eigenschappen": [
                {"naam": "kenteken", "url": "https://zgw.example/eig/1"},
                {"naam": "aanvraag_type", "url": "https://zgw.example/eig/2"},
            ],
        },
        "documents": {
            "result": {
                "instance": {"rows": [{"reference": f"doc-{i}-1", "instance": {"name": "aanvraag.pdf"}}]}
            }
        },
        "bronorganisatie": "999990639",
    }
