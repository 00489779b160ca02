"""The 50 reference cases of the original engine, and the shipped xxllnc configuration end to end."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from openconnector.config.models import MappingConfig
from openconnector.mapping import MappingConfigError, MappingError, compile_mapping

from .compat import CASES_FILE, case_config, load_cases, require_compat, same
from .xxllnc import CONFIGS, case, load_original, mappings

CASES = load_cases()


def test_the_reference_file_has_fifty_cases() -> None:
    require_compat()
    assert len(CASES) == 50, CASES_FILE


@pytest.mark.parametrize("reference", CASES, ids=[c["name"] for c in CASES])
def test_reference_case(reference: dict[str, Any]) -> None:
    require_compat()
    mapping = compile_mapping(reference["name"], case_config(reference))
    record = copy.deepcopy(reference["input"])
    if (reference.get("options") or {}).get("list"):
        output = mapping.apply_list(record)
    else:
        output = mapping.apply(record)
    assert same(output, reference["expected"]), f"{output!r} != {reference['expected']!r}"
    assert record == reference["input"], "the input record must not be changed"


def test_comparison_is_type_strict() -> None:
    # The comparator itself must fail where the cases say types differ.
    assert not same({"a": 1}, {"a": 1.0})
    assert not same({"a": True}, {"a": 1})
    assert not same({"a": "1"}, {"a": 1})
    assert same([], {})
    assert not same({"a": 1, "b": 2}, {"a": 1})


@pytest.fixture(scope="module")
def zaak() -> Any:
    if not CONFIGS.exists():
        pytest.skip(f"{CONFIGS} is not present")
    found = mappings()
    return compile_mapping("case-to-zaak", found["case-to-zaak"], resolver=found.get)


def test_xxllnc_case_to_zaak_maps_a_realistic_case(zaak: Any) -> None:
    out = zaak.apply(case(0))
    assert out["identificatie"] == case(0)["reference"]
    assert out["kenmerken"] == [{"kenmerk": case(0)["reference"], "bron": "xxllnc v1 api"}]
    assert out["betalingsindicatie"] == "nvt"  # price '-'
    assert out["resultaat"] == {"toelichting": "Verleend", "resultaattype": "https://zgw.example/rt/1"}
    assert out["status"]["statustype"] == "st-2"
    assert out["status"]["indicatieLaatstGezetteStatus"] is True
    assert out["rollen"][0]["roltype"] == "https://zgw.example/rol/1"
    # the for-loop keeps its comma counter across iterations (Twig scoping), so the JSON is valid
    assert [e.get("naam") for e in out["eigenschappen"][:2]] == ["kenteken", "aanvraag_type"]
    assert out["eigenschappen"][2] == [[{"filename": "foto.jpg"}]]  # 'attribute[0][0] is iterable'
    assert out["zaakinformatieobjecten"] == [
        {"informatieobject": "doc-0-1", "titel": "aanvraag.pdf", "zaak": case(0)["reference"]}
    ]
    assert out["opschorting"] == {"indicatie": "true", "reden": "Unknown"}


def test_xxllnc_unset_idioms(zaak: Any) -> None:
    out = zaak.apply(case(1))
    assert out["betalingsindicatie"] == "nog_niet"  # payment_status is null: 'is null' branch
    assert "opschorting" not in out  # empty children removed, then the empty parent
    assert out["toelichting"] is None  # an existing null path is copied as null
    assert out["resultaat"] is None  # '' through jsonToArray is null, as in PHP
    assert "resultaattoelichting" not in out


def test_xxllnc_sub_mappings_need_a_resolver() -> None:
    if not CONFIGS.exists():
        pytest.skip(f"{CONFIGS} is not present")
    mapping = compile_mapping("case-to-zaak", load_original(CONFIGS / "xxllnc-v1-case-to-zgw-zaak.json"))
    with pytest.raises(MappingError) as info:
        mapping.apply(case(0))
    assert info.value.key == "resultaat"
    assert "resolver" in str(info.value)


def test_xxllnc_unresolvable_sub_mapping_is_a_config_error() -> None:
    if not CONFIGS.exists():
        pytest.skip(f"{CONFIGS} is not present")
    found = mappings()
    del found["6"]
    with pytest.raises(MappingConfigError) as info:
        compile_mapping("case-to-zaak", found["case-to-zaak"], resolver=found.get)
    assert ("mapping.eigenschappen", "executeMapping('6'): no mapping named '6'") in info.value.problems


def test_sub_mapping_changes_change_the_version() -> None:
    if not CONFIGS.exists():
        pytest.skip(f"{CONFIGS} is not present")
    found = mappings()
    before = compile_mapping("case-to-zaak", found["case-to-zaak"], resolver=found.get).version
    found["7"] = MappingConfig(dialect="openconnector", mapping={"titel": "instance.name"})
    after = compile_mapping("case-to-zaak", found["case-to-zaak"], resolver=found.get).version
    assert before != after
