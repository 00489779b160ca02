"""Each format, read from a local folder: what records, meta and row errors come out."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from openconnector.connectors.files import FilesConnector
from tests.connectors.files.helpers import drain, make_read

# -- CSV ------------------------------------------------------------------------------------------


async def test_csv_header_meta_and_row_id(files: FilesConnector, drop: Path) -> None:
    (drop / "orders.csv").write_text("id,name\n1,Ann\n2,Bob\n")
    out, ctx = await drain(files, make_read(files, path="*.csv", id="@row"))
    assert out.records == [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bob"}]
    assert out.meta[1] == {"file": "orders.csv", "row": 2, "row_id": "orders.csv:2", "line": 3}
    assert make_read(files, path="*.csv", id="@row").id == "_meta.row_id"
    assert make_read(files, path="*.csv", id=["@row", "id"]).id == ["_meta.row_id", "id"]
    assert [b.where for b in out.batches] == ["orders.csv"]
    assert ctx.complete and ctx.warnings == []


async def test_csv_bad_rows_in_the_middle_are_errors_and_the_rest_lands(
    files: FilesConnector, drop: Path
) -> None:
    (drop / "orders.csv").write_text(
        'id,name,amount\n1,Ann,5\n2,"multi\nline",6\n3,short\n4,bad "quote,7\n5,"x"y,8\n'
        "6,Eve,nine\n7,Fay,10\n"
    )
    read = make_read(files, path="*.csv", types={"amount": "int"})
    out, ctx = await drain(files, read)
    assert out.ids() == ["1", "2", "4", "7"]
    assert out.records[1] == {"id": "2", "name": "multi\nline", "amount": 6}
    assert out.records[2]["name"] == 'bad "quote' and out.records[3]["amount"] == 10
    by_where = {e.where: e for e in out.errors}
    assert set(by_where) == {"orders.csv line 5", "orders.csv line 7", "orders.csv line 8"}
    assert by_where["orders.csv line 5"].raw == "3,short"
    assert "expected 3 fields, found 2" in by_where["orders.csv line 5"].error
    assert by_where["orders.csv line 7"].raw == '5,"x"y,8'
    cast = by_where["orders.csv line 8"]
    assert cast.raw == {"id": "6", "name": "Eve", "amount": "nine"}  # the raw row, not half-converted
    assert "amount: cannot read 'nine' as int" in cast.error
    # a bare quote inside an unquoted field is data, as in every spreadsheet export
    assert "orders.csv line 6" not in by_where
    assert ctx.complete
    assert (drop / "processed" / "orders.csv").exists()


async def test_csv_options_delimiter_quote_no_header_columns(files: FilesConnector, drop: Path) -> None:
    (drop / "a.txt").write_text("1;'Ann; A';\n2;Bob;x\n")
    read = make_read(
        files,
        path="a.txt",
        csv={
            "delimiter": ";",
            "quote": "'",
            "header": False,
            "columns": ["id", "name", "note"],
            "empty_as_null": True,
        },
    )
    out, _ = await drain(files, read)
    assert out.records == [
        {"id": "1", "name": "Ann; A", "note": None},
        {"id": "2", "name": "Bob", "note": "x"},
    ]


async def test_csv_no_header_without_columns_names_by_position(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv").write_text("1,Ann\n2,Bob\n")
    out, _ = await drain(files, make_read(files, path="a.csv", csv={"header": False}))
    assert out.records[0] == {"col_1": "1", "col_2": "Ann"}


async def test_tsv_by_extension_and_blank_duplicate_headers(files: FilesConnector, drop: Path) -> None:
    (drop / "a.tsv").write_text("id\tname\tname\t\n1\tAnn\tA\tz\n\n")
    out, _ = await drain(files, make_read(files, path="*.tsv"))
    assert out.records == [{"id": "1", "name": "Ann", "name_2": "A", "col_4": "z"}]


async def test_csv_bom_crlf_and_other_encodings(files: FilesConnector, drop: Path) -> None:
    (drop / "bom.csv").write_bytes("\ufeffid,naam\r\n1,Zoë\r\n".encode())
    (drop / "latin.csv").write_bytes("id,naam\n2,Zoë\n".encode("cp1252"))
    out, _ = await drain(files, make_read(files, path="bom.csv"))
    assert out.records == [{"id": "1", "naam": "Zoë"}]
    out, _ = await drain(files, make_read(files, path="latin.csv", encoding="cp1252"))
    assert out.records == [{"id": "2", "naam": "Zoë"}]
    with pytest.raises(ValueError, match="unknown encoding"):
        make_read(files, path="*.csv", encoding="klingon")


async def test_wrong_encoding_fails_the_file_with_its_byte_offset(files: FilesConnector, drop: Path) -> None:
    head = "id,naam\n" + "".join(f"{i},x\n" for i in range(1, 4))
    (drop / "latin.csv").write_bytes(head.encode() + "4,Zoë\n".encode("cp1252"))
    (drop / "good.csv").write_text("id,naam\n9,ok\n")
    out, ctx = await drain(files, make_read(files, path="*.csv"))
    offset = len(head.encode()) + len("4,Zo")
    assert not ctx.complete
    assert any(f"latin.csv: not valid utf-8 at byte {offset}" in w for w in ctx.warnings), ctx.warnings
    assert "read.encoding" in ctx.reason  # type: ignore[operator]
    assert "9" in out.ids()  # the other file still lands
    assert (drop / "failed" / "latin.csv").exists()
    assert (drop / "processed" / "good.csv").exists()


async def test_truncated_csv_inside_a_quote_fails_the_file(files: FilesConnector, drop: Path) -> None:
    (drop / "cut.csv").write_text('id,name\n1,Ann\n2,"Bo')
    out, ctx = await drain(files, make_read(files, path="*.csv"))
    assert not ctx.complete
    assert any("cut.csv: ends inside a quoted field that starts on line 3" in w for w in ctx.warnings)
    assert out.ids() == ["1"]  # what came before the cut is valid and is stored
    assert (drop / "failed" / "cut.csv").exists()


async def test_truncated_csv_row_is_a_row_error(files: FilesConnector, drop: Path) -> None:
    (drop / "cut.csv").write_text("id,name,amount\n1,Ann,5\n2,Bo")
    out, ctx = await drain(files, make_read(files, path="*.csv"))
    assert out.ids() == ["1"]
    assert [e.where for e in out.errors] == ["cut.csv line 3"]
    assert ctx.complete


async def test_casts(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv").write_text("n,f,b,s,x\n7,1.5,ja,12,3.0\n,,,,\n")
    read = make_read(
        files, path="a.csv", types={"n": "int", "f": "float", "b": "bool", "s": "string", "x": "number"}
    )
    out, _ = await drain(files, read)
    assert out.records == [
        {"n": 7, "f": 1.5, "b": True, "s": "12", "x": 3},
        {"n": None, "f": None, "b": None, "s": "", "x": None},
    ]


async def test_csv_splits_lines_only_at_line_ends(files: FilesConnector, drop: Path) -> None:
    # str.splitlines would also split at these; inside a field they are data
    odd = "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i"
    (drop / "a.csv").write_text(f'id,note\r1,{odd}\r2,"x\ry"\r\n3,z\n', newline="")
    out, _ = await drain(files, make_read(files, path="a.csv"))
    assert out.records == [{"id": "1", "note": odd}, {"id": "2", "note": "x\ry"}, {"id": "3", "note": "z"}]
    assert [m["line"] for m in out.meta] == [2, 3, 5]


async def test_csv_rows_spanning_read_chunks(
    files: FilesConnector, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows, quoted line breaks and a bad row's raw text across many small reads (and \r\n split
    between two of them): the same records, lines and raw text as in one piece."""
    monkeypatch.setattr("openconnector.connectors.files.decode.CHUNK", 7)
    long = "\r\n".join(f"part {i}" for i in range(12))
    rows = [f'{i},"{long}",{i}' if i % 3 == 0 else f"{i},name {i},{i}" for i in range(1, 31)]
    rows[9] = '10,"x\r\nxx\r\nxxx"y,10'  # unreadable after two line breaks
    rows[19] = "20,short"  # too few fields
    (drop / "a.csv").write_bytes(("id,name,n\r\n" + "\r\n".join(rows) + "\r\n").encode())
    out, ctx = await drain(files, make_read(files, path="a.csv", types={"n": "int"}, batch_size=4))
    assert ctx.complete
    assert out.ids() == [str(i) for i in range(1, 31) if i not in (10, 20)]
    assert out.records[2] == {"id": "3", "name": long, "n": 3}
    first_line = {i: 2 + sum(r.count("\n") + 1 for r in rows[: i - 1]) for i in range(1, 31)}
    assert [m["line"] for m in out.meta] == [first_line[i] for i in range(1, 31) if i not in (10, 20)]
    by_where = {e.where: e.raw for e in out.errors}
    assert by_where == {f"a.csv line {first_line[10]}": rows[9], f"a.csv line {first_line[20]}": "20,short"}


async def test_casts_by_column_and_row_by_row(files: FilesConnector, drop: Path) -> None:
    """A batch converts column-wise; one with a blank or a bad cell falls back to row by row with
    the same results, quarantining only the bad row (raw, unconverted)."""
    body = "".join(f"{i},{i}.5,{i}, {i} \n" for i in range(1, 7))
    body += "7,,7,x\n8,8,8,8\n9,9,no,9\n"
    (drop / "a.csv").write_text("id,f,n,i\n" + body)
    read = make_read(files, path="a.csv", types={"f": "float", "n": "number", "i": "int"}, batch_size=3)
    out, _ = await drain(files, read)
    assert out.records[:2] == [{"id": "1", "f": 1.5, "n": 1, "i": 1}, {"id": "2", "f": 2.5, "n": 2, "i": 2}]
    assert out.ids() == ["1", "2", "3", "4", "5", "6", "8"]
    assert out.records[-1] == {"id": "8", "f": 8.0, "n": 8, "i": 8}
    assert [(e.where, e.raw) for e in out.errors] == [
        ("a.csv line 8", {"id": "7", "f": "", "n": "7", "i": "x"}),
        ("a.csv line 10", {"id": "9", "f": "9", "n": "no", "i": "9"}),
    ]


# -- JSON / NDJSON --------------------------------------------------------------------------------


async def test_json_records_path_root_list_and_single_object(files: FilesConnector, drop: Path) -> None:
    (drop / "a.json").write_text(json.dumps({"data": {"items": [{"id": 1, "p": 1.5}, {"id": 2}, 3]}}))
    (drop / "b.json").write_text(json.dumps([{"id": 10}, {"id": 11}]))
    (drop / "c.json").write_text(json.dumps({"data": {"items": {"id": 20, "nested": {"a": [1, 2]}}}}))
    out, _ = await drain(files, make_read(files, path="a.json", records="data.items"))
    assert out.records == [{"id": 1, "p": 1.5}, {"id": 2}]
    assert isinstance(out.records[0]["p"], float)
    assert out.errors[0].where == "a.json record 3" and out.errors[0].raw == 3
    out, _ = await drain(files, make_read(files, path="b.json"))
    assert out.ids() == [10, 11] and out.meta[1]["row_id"] == "b.json:2"
    out, _ = await drain(files, make_read(files, path="c.json", records="data.items"))
    assert out.records == [{"id": 20, "nested": {"a": [1, 2]}}]


async def test_json_records_path_that_does_not_exist_fails_the_file(
    files: FilesConnector, drop: Path
) -> None:
    (drop / "a.json").write_text(json.dumps({"data": {"rows": [{"id": 1}]}}))
    (drop / "empty-list.json").write_text(json.dumps({"data": {"items": []}}))
    out, ctx = await drain(files, make_read(files, path="*.json", records="data.items"))
    assert out.records == []
    assert any("a.json: records path 'data.items' not found" in w for w in ctx.warnings), ctx.warnings
    assert not ctx.complete
    assert (drop / "failed" / "a.json").exists()
    assert (drop / "processed" / "empty-list.json").exists()  # an empty list is no records, not an error
    assert any("empty-list.json holds no records" in w for w in ctx.warnings)


async def test_truncated_json_fails_the_file(files: FilesConnector, drop: Path) -> None:
    (drop / "cut.json").write_text('[{"id": 1}, {"id": 2}, {"id"')
    out, ctx = await drain(files, make_read(files, path="*.json"))
    assert any("cut.json: invalid or truncated JSON" in w for w in ctx.warnings), ctx.warnings
    assert not ctx.complete
    assert (drop / "failed" / "cut.json").exists()
    assert len(out.records) <= 2


async def test_json_and_ndjson_files_with_a_byte_order_mark(files: FilesConnector, drop: Path) -> None:
    (drop / "a.json").write_bytes('\ufeff[{"id": 1, "naam": "Zoë"}]'.encode())
    (drop / "b.ndjson").write_bytes('\ufeff{"id": 2}\n{"id": 3}\n'.encode())
    out, ctx = await drain(files, make_read(files, path="a.json"))
    assert out.records == [{"id": 1, "naam": "Zoë"}] and not ctx.warnings
    out, ctx = await drain(files, make_read(files, path="b.ndjson", format="ndjson"))
    assert out.ids() == [2, 3] and not out.errors and not ctx.warnings


async def test_json_file_with_nan_fails_and_says_why(files: FilesConnector, drop: Path) -> None:
    # Python's json.dumps writes NaN unless allow_nan=False; it is not JSON, and the file is set aside
    (drop / "nan.json").write_text('[{"id": 1, "v": 0.5}, {"id": 2, "v": 1.5}, {"id": 3, "v": NaN}]')
    _, ctx = await drain(files, make_read(files, path="*.json"))
    (warning,) = [w for w in ctx.warnings if "nan.json" in w]
    assert "invalid or truncated JSON" in warning and "after 2 records" in warning
    assert "NaN}]" in warning  # where it stopped, as text
    assert "NaN is not a JSON value: the writer must send null instead" in warning
    assert (drop / "failed" / "nan.json").exists() and not ctx.complete


async def test_json_syntax_error_names_the_spot_without_a_nan_hint(files: FilesConnector, drop: Path) -> None:
    (drop / "comma.json").write_text('[{"id": 1}, {"id": 2,}]')
    _, ctx = await drain(files, make_read(files, path="*.json"))
    (warning,) = [w for w in ctx.warnings if "comma.json" in w]
    assert "invalid object key" in warning and "near '[{" in warning and "after 1 record" in warning
    assert "not a JSON value" not in warning


async def test_scalar_json_document_fails(files: FilesConnector, drop: Path) -> None:
    (drop / "n.json").write_text("42")
    _, ctx = await drain(files, make_read(files, path="*.json"))
    assert any("n.json: the document holds a single number value" in w for w in ctx.warnings), ctx.warnings


async def test_ndjson_bad_line_is_a_row_error(files: FilesConnector, drop: Path) -> None:
    (drop / "a.ndjson").write_text('{"id": 1}\n\n{"id": 2\n[1]\n{"id": 3}\n')
    out, ctx = await drain(files, make_read(files, path="*.ndjson"))
    assert out.ids() == [1, 3]
    assert out.meta[1] == {"file": "a.ndjson", "row": 4, "row_id": "a.ndjson:4", "line": 5}
    assert [(e.where, e.raw) for e in out.errors] == [
        ("a.ndjson line 3", '{"id": 2'),
        ("a.ndjson line 4", [1]),
    ]
    assert ctx.complete


# -- XML ------------------------------------------------------------------------------------------

XML = """<?xml version="1.0" encoding="ISO-8859-1"?>
<export xmlns="urn:x">
  <header><created>2024-01-01</created></header>
  <orders>
    <order id="1"><name>Zoë</name><line>a</line><line>b</line></order>
    <order id="2"><name>Bob & Co</name></order>
    <order id="3"><name kind="nick">C</name><amount>x</amount></order>
    <order id="4"><name>Dee</name><amount>4.5</amount></order>
  </orders>
</export>
"""


async def test_xml_records_attributes_lists_namespaces_and_declared_encoding(
    files: FilesConnector, drop: Path
) -> None:
    (drop / "a.xml").write_bytes(XML.encode("latin-1"))
    read = make_read(files, path="*.xml", records="export.orders.order", types={"amount": "float"})
    out, ctx = await drain(files, read)
    assert out.records[0] == {"@id": "1", "name": "Zoë", "line": ["a", "b"]}
    assert out.records[1] == {"@id": "4", "name": "Dee", "amount": 4.5}
    assert out.meta[1] == {"file": "a.xml", "row": 4, "row_id": "a.xml:4", "line": 8}
    broken, cast = out.errors
    assert broken.where == "a.xml line 6" and "does not parse" in broken.error and "EntityRef" in broken.error
    assert "<name>Bob  Co</name>" in broken.raw  # the element as libxml2 recovered it
    assert cast.where == "a.xml line 7" and "amount: cannot read 'x' as float" in cast.error
    assert cast.raw["name"] == {"@kind": "nick", "#text": "C"}
    assert ctx.complete


async def test_xml_default_records_are_the_roots_children(files: FilesConnector, drop: Path) -> None:
    (drop / "a.xml").write_text("<people><p><id>1</id></p><p><id>2</id></p></people>")
    out, _ = await drain(files, make_read(files, path="*.xml"))
    assert out.records == [{"id": "1"}, {"id": "2"}]


async def test_xml_truncated_and_missing_path_fail_the_file(files: FilesConnector, drop: Path) -> None:
    (drop / "cut.xml").write_text("<orders>\n<order><id>1</id></order>\n<order><id>2</id>")
    # libxml2 "recovers" these by dropping or re-nesting the elements after them: never silently
    (drop / "halt.xml").write_text(
        "<orders>\n<order><id>1</id></order>\n<order>A < B</order>\n<order/>\n</orders>"
    )
    (drop / "nest.xml").write_text(
        "<orders>\n<order><id>1</id></order>\n<order><n>B</n></nn></order>\n<order/>\n</orders>"
    )
    (drop / "other.xml").write_text("<shipments><shipment/></shipments>")
    (drop / "junk.xml").write_text("this is not xml")
    _, ctx = await drain(files, make_read(files, path="*.xml", records="orders.order"))
    text = "\n".join(ctx.warnings)
    assert "cut.xml: broken XML document (truncated?)" in text
    assert "other.xml: records path 'orders.order' not found (the root element is <shipments>)" in text
    assert "junk.xml:" in text
    assert (
        "halt.xml: XML errors (first at line 3: StartTag: invalid element name) could not be recovered"
        in text
    )
    assert "nest.xml: XML errors (first at line 3" in text
    assert sorted(p.name for p in (drop / "failed").iterdir()) == [
        "cut.xml",
        "halt.xml",
        "junk.xml",
        "nest.xml",
        "other.xml",
    ]


async def test_xml_error_on_a_line_with_several_records_fails_the_file(
    files: FilesConnector, drop: Path
) -> None:
    """libxml2 reports lines, not columns: written without line breaks, a bad element cannot be
    told from its neighbours, and the good-looking one may be the recovered (changed) one."""
    (drop / "one-line.xml").write_text("<r><p><id>1</id><n>a&#0;b</n></p><p><id>2</id></p></r>")
    out, ctx = await drain(files, make_read(files, path="*.xml", records="r.p"))
    assert out.records == [] and out.errors == []
    assert "a line that holds more than one record" in (ctx.reason or "")
    assert (drop / "failed" / "one-line.xml").exists()
    # with a line per record the bad one is set aside and the rest lands, as before
    (drop / "lines.xml").write_text("<r>\n<p><id>1</id><n>a&#0;b</n></p>\n<p><id>2</id></p>\n</r>")
    out, _ = await drain(files, make_read(files, path="lines.xml", records="r.p"))
    assert [r["id"] for r in out.records] == ["2"] and [e.where for e in out.errors] == ["lines.xml line 2"]


async def test_xml_does_not_expand_entities(files: FilesConnector, drop: Path) -> None:
    (drop / "a.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><i><v>&x;</v></i></r>'
    )
    out, _ = await drain(files, make_read(files, path="*.xml"))
    assert "root:" not in json.dumps(out.records)


# -- XLSX -----------------------------------------------------------------------------------------


def _workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Orders"
    ws.append(["id", "name", None, "when"])
    ws.append([1, "Ann", "x", dt.datetime(2024, 5, 1, 12, 30)])
    ws.append([2, "merged", None, None])
    ws.merge_cells("B3:C3")
    ws.append([None, None, None, None])  # an empty row
    ws.append([3, None, None, dt.date(2024, 5, 2), "extra"])
    other = wb.create_sheet("Other")
    other.append(["k"])
    other.append(["v"])
    wb.save(path)


async def test_xlsx_merged_and_empty_cells(files: FilesConnector, drop: Path) -> None:
    _workbook(drop / "a.xlsx")
    out, ctx = await drain(files, make_read(files, path="*.xlsx", types={"id": "string"}))
    assert out.records == [
        {"id": "1", "name": "Ann", "col_3": "x", "when": "2024-05-01T12:30:00"},
        {
            "id": "2",
            "name": "merged",
            "col_3": None,
            "when": None,
        },  # merged: the value sits in the first cell
        {"id": "3", "name": None, "col_3": None, "when": "2024-05-02T00:00:00", "col_5": "extra"},
    ]
    assert out.meta[2] == {
        "file": "a.xlsx",
        "row": 3,
        "row_id": "a.xlsx:3",
        "sheet": "Orders",
        "sheet_row": 5,
    }
    assert ctx.complete


async def test_xlsx_sheet_choice_and_bad_workbook(files: FilesConnector, drop: Path) -> None:
    _workbook(drop / "a.xlsx")
    out, _ = await drain(files, make_read(files, path="*.xlsx", xlsx={"sheet": "Other"}, after="keep"))
    assert out.records == [{"k": "v"}]
    _, ctx = await drain(files, make_read(files, path="*.xlsx", xlsx={"sheet": "Nope"}))
    assert any("no sheet 'Nope' (sheets: Orders, Other)" in w for w in ctx.warnings)
    (drop / "b.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    _, ctx = await drain(files, make_read(files, path="*.xlsx"))
    assert any("b.xlsx: not a readable XLSX workbook" in w for w in ctx.warnings)
    assert (drop / "failed" / "b.xlsx").exists()


async def test_unknown_extension_needs_a_format(files: FilesConnector, drop: Path) -> None:
    (drop / "a.dat").write_text("id\n1\n")
    _, ctx = await drain(files, make_read(files, path="*.dat"))
    assert any(
        "a.dat: cannot tell the format from the extension '.dat'; set read.format" in w for w in ctx.warnings
    )
    (drop / "b.dat").write_text("id\n1\n")
    out, _ = await drain(files, make_read(files, path="*.dat", format="csv"))
    assert out.records == [{"id": "1"}]
