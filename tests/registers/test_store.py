"""The store on both backends: schemas, object listing with filters/paging/ordering, history, API writes."""

from __future__ import annotations

import pytest

from openconnector.registers import InvalidSchema, NotFound, Store, ValidationFailed

SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "active": {"type": "boolean"},
        "address": {"type": "object"},
    },
}


@pytest.fixture
def filled(store: Store) -> Store:
    store.sync_registers({"crm": "people"}, {"crm/person": SCHEMA})
    for i, (name, city, active) in enumerate(
        [
            ("Ann", "Utrecht", True),
            ("Bob", "Zwolle", False),
            ("Cas", "Utrecht", False),
            ("Dirk", "Apeldoorn", True),
        ]
    ):
        store.save_object(
            "crm",
            "person",
            {"name": name, "age": 30 + i, "active": active, "address": {"city": city, "no": i}},
        )
    return store


def names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [d["name"] for d in page.results]


def test_filters_on_top_level_and_nested_fields(filled: Store) -> None:
    assert names(filled.list_objects("crm", "person", filters={"address.city": "Utrecht"})) == ["Ann", "Cas"]
    assert names(filled.list_objects("crm", "person", filters={"active": "true"})) == ["Ann", "Dirk"]
    assert names(filled.list_objects("crm", "person", filters={"age": "31"})) == ["Bob"]
    assert names(
        filled.list_objects("crm", "person", filters=[("address.city", "Utrecht"), ("active", "false")])
    ) == ["Cas"]
    assert filled.list_objects("crm", "person", filters={"name": "Nobody"}).total == 0


def test_paging_and_ordering(filled: Store) -> None:
    page = filled.list_objects("crm", "person", limit=2, offset=1, order="-age")
    assert names(page) == ["Cas", "Bob"] and page.total == 4 and page.limit == 2 and page.offset == 1
    assert names(filled.list_objects("crm", "person", order="address.city")) == ["Dirk", "Ann", "Cas", "Bob"]
    assert names(filled.list_objects("crm", "person", order="-@self.created_at"))[0] == "Dirk"
    with pytest.raises(ValueError, match="cannot order by"):
        filled.list_objects("crm", "person", order="@self.secret")


def test_object_shape_versions_and_soft_delete(filled: Store) -> None:
    doc = filled.list_objects("crm", "person", filters={"name": "Ann"}).results[0]
    meta = doc["@self"]
    assert set(meta) >= {"id", "register", "schema", "version", "created_at", "updated_at", "source"}
    assert (meta["register"], meta["schema"], meta["version"]) == ("crm", "person", 1)
    updated = filled.save_object("crm", "person", {"name": "Ann B"}, object_id=meta["id"], actor="api:test")
    assert updated["@self"]["version"] == 2
    filled.delete_object(meta["id"])
    assert filled.list_objects("crm", "person", filters={"name": "Ann B"}).total == 0
    history = filled.object_history(meta["id"])
    assert [(h["version"], h["action"]) for h in history] == [(3, "delete"), (2, "update"), (1, "create")]
    with pytest.raises(NotFound):
        filled.delete_object(meta["id"])


def test_invalid_object_is_refused_with_every_error(filled: Store) -> None:
    with pytest.raises(ValidationFailed) as info:
        filled.save_object("crm", "person", {"age": "x", "active": 3})
    assert {e.path for e in info.value.errors} == {"$", "$.age", "$.active"}
    assert filled.count_objects("crm", "person") == 4


def test_schema_versions_and_bad_schema(store: Store) -> None:
    store.sync_registers({"crm": None}, {"crm/person": SCHEMA})
    assert store.get_schema("crm", "person")["version"] == 1
    store.sync_registers({"crm": None}, {"crm/person": SCHEMA})
    assert store.get_schema("crm", "person")["version"] == 1
    store.sync_registers({"crm": None}, {"crm/person": {**SCHEMA, "required": ["name", "age"]}})
    assert store.get_schema("crm", "person")["version"] == 2
    with pytest.raises(InvalidSchema):
        store.put_schema("crm", "bad", {"type": 12})
    with pytest.raises(NotFound):
        store.get_schema("crm", "bad")
    assert store.list_registers()[0]["schemas"] == ["person"]


def test_drafts_are_honoured(store: Store) -> None:
    store.sync_registers(
        {"r": None},
        {
            "r/d4": {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "properties": {"n": {"type": "number", "maximum": 5, "exclusiveMaximum": True}},
            }
        },
    )
    with pytest.raises(ValidationFailed):
        store.save_object("r", "d4", {"n": 5})
    assert store.save_object("r", "d4", {"n": 4})["n"] == 4
