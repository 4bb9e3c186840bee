"""The analysts' import: CSV/XLSX in the flat shape, a report before anything is written, then
confirm; the same validation and result as the API."""

import csv
import io
import json
import re
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from openpyxl import Workbook

from thread.bom.ebom import services
from thread.bom.ebom.file_import import COLUMNS
from thread.bom.ebom.ingest import flatten
from thread.bom.models import EBom
from thread.demo.product import structure
from thread.demo.seed import seed_demo

from .conftest import db_state, ebom_content

IMPORT = "/admin/bom/ebom/import/"


@pytest.fixture
def analyst(person):
    client = Client()
    client.force_login(person("analyst").user)
    return client


@pytest.fixture
def superuser(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    return client


def demo_rows() -> list[dict]:
    return flatten(structure())


def csv_file(rows: list[dict], name: str = "ebom.csv", delimiter: str = ",") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=delimiter)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "reference_designators": ",".join(row.get("reference_designators", [])),
                         "attributes": json.dumps(row["attributes"]) if row.get("attributes") else ""})
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8-sig"), "text/csv")


def xlsx_bytes(rows: list[dict]) -> bytes:
    """Attributes as one column per attribute, numbers as spreadsheet numbers."""
    names = sorted({k for row in rows for k in row.get("attributes", {})})
    columns = [c for c in COLUMNS if c != "attributes"] + [f"attributes.{n}" for n in names]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in rows:
        cells = []
        for column in columns:
            if column.startswith("attributes."):
                cells.append(row.get("attributes", {}).get(column.split(".", 1)[1]))
            elif column == "quantity":
                cells.append(float(row["quantity"]))
            elif column == "reference_designators":
                cells.append(" ".join(row.get(column, [])) or None)
            else:
                cells.append(row.get(column))
        sheet.append(cells)
        sheet.append([])  # blank lines between rows are skipped
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def api_result() -> list[tuple]:
    """What the API service makes of the demo structure (rolled back afterwards)."""

    class Rollback(Exception):
        pass

    demo = structure()
    with pytest.raises(Rollback), transaction.atomic():
        services.ebom_push(payload={"part": demo["part"], "revision": demo["revision"],
                                    "lines": demo["lines"]}, actor=None, reason="API")
        content = ebom_content()
        raise Rollback
    return content


def preview(client, upload, **fields):
    return client.post(IMPORT, {"step": "preview", "file": upload, "reason": "Import from PLM "
                                "export", **fields})


def confirm(client, response):
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    return client.post(IMPORT, {"step": "confirm", "token": token})


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_csv_import_previews_then_writes_what_the_api_writes(analyst, units, delimiter):
    expected = api_result()
    before = db_state()
    response = preview(analyst, csv_file(demo_rows(), delimiter=delimiter))
    assert response.status_code == 200
    page = response.content.decode()
    assert "no problems" in page and "New eBOM snapshots: 23" in page
    assert db_state() == before  # the preview writes nothing
    done = confirm(analyst, response)
    assert done.status_code == 302
    assert ebom_content() == expected
    assert set(EBom.objects.values_list("reason", flat=True)) == {"Import from PLM export"}


def test_an_xlsx_import_writes_what_the_api_writes(analyst, units):
    expected = api_result()
    upload = SimpleUploadedFile("ebom.xlsx", xlsx_bytes(demo_rows()))
    done = confirm(analyst, preview(analyst, upload))
    assert done.status_code == 302
    assert ebom_content() == expected


def test_the_report_names_the_spreadsheet_rows_and_nothing_is_written(analyst, units):
    rows = demo_rows()
    rows[1]["quantity"] = "-1"
    rows[4]["unit"] = "furlong"
    before = db_state()
    page = preview(analyst, csv_file(rows)).content.decode()
    assert "Refused — nothing was written" in page
    assert "row 3, quantity" in page and "row 6, unit" in page
    assert 'name="token"' not in page
    assert db_state() == before


def test_an_xlsx_report_counts_rows_as_the_spreadsheet_does(analyst, units):
    rows = demo_rows()
    rows[2]["quantity"] = 0
    page = preview(analyst, SimpleUploadedFile("e.xlsx", xlsx_bytes(rows))).content.decode()
    assert "row 6, quantity" in page  # header, then every row followed by a blank one


def test_an_entity_bomb_workbook_is_refused_and_nothing_is_written(analyst, units):
    good = xlsx_bytes(demo_rows()[:3])
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
                      for i in range(1, 10))
            + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
              '</sheetData></worksheet>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, bomb if item.filename == "xl/worksheets/sheet1.xml" else data)
    before = db_state()
    page = preview(analyst, SimpleUploadedFile("bomb.xlsx", out.getvalue())).content.decode()
    assert "declares XML entities or a DTD" in page
    assert db_state() == before


def test_a_file_that_is_not_a_workbook_is_refused(analyst, units):
    page = preview(analyst, SimpleUploadedFile("x.xlsx", b"PK not really")).content.decode()
    assert "not a readable .xlsx workbook" in page


def test_the_sample_file_downloads_and_imports_cleanly(analyst, units):
    sample = analyst.get(IMPORT + "sample.csv")
    assert sample.status_code == 200
    assert sample["Content-Disposition"] == 'attachment; filename="ebom-sample.csv"'
    assert sample.content.decode().splitlines()[0] == ",".join(COLUMNS)
    page = preview(analyst, SimpleUploadedFile("sample.csv", sample.content)).content.decode()
    assert "no problems" in page and "Top: TR-100 rev A" in page


def test_the_sample_file_imports_cleanly_on_the_demo(analyst):
    seed_demo()
    sample = analyst.get(IMPORT + "sample.csv")
    page = preview(analyst, SimpleUploadedFile("sample.csv", sample.content)).content.decode()
    assert "no problems" in page, page


def test_a_confirm_re_validates_against_what_changed_since_the_preview(analyst, units):
    response = preview(analyst, csv_file(demo_rows()))
    changed = structure()
    changed["lines"][1]["quantity"] = "2"
    services.ebom_push(payload={**changed, "release": True}, actor=None, reason="PLM meanwhile")
    before = db_state()
    page = confirm(analyst, response)
    assert page.status_code == 200
    assert "Refused — nothing was written" in page.content.decode()
    row = next(i for i, r in enumerate(demo_rows()) if (r["parent"], r["part"]) == (
        "BK-100", "WH-600")) + 2  # the header is row 1
    assert f"<td>row {row}</td>" in page.content.decode()
    assert db_state() == before


def test_a_stale_or_foreign_token_writes_nothing(analyst, units):
    before = db_state()
    response = analyst.post(IMPORT, {"step": "confirm", "token": "guessed"})
    assert response.status_code == 302 and response["Location"] == IMPORT
    assert db_state() == before


def test_only_a_person_with_the_release_right_is_offered_release(analyst, superuser, units):
    assert 'name="release"' not in analyst.get(IMPORT).content.decode()
    response = preview(superuser, csv_file(demo_rows()), release="on")
    assert "To release: 23" in response.content.decode()
    confirm(superuser, response)
    assert set(EBom.objects.values_list("revision__status", flat=True)) == {"released"}


def test_people_without_the_import_right_are_refused(person, units):
    client = Client()
    client.force_login(person("auditor").user)
    assert client.get(IMPORT).status_code == 403


def test_the_snapshot_pages_cost_a_fixed_number_of_queries(superuser, units,
                                                          django_assert_max_num_queries):
    services.ebom_push(payload=structure(), actor=None, reason="PLM")
    big = EBom.objects.order_by("-line_count").first()
    with django_assert_max_num_queries(12):
        assert superuser.get("/admin/bom/ebom/").status_code == 200
    with django_assert_max_num_queries(12):
        assert superuser.get(f"/admin/bom/ebom/{big.pk}/change/").status_code == 200
