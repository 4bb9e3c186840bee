"""A released product reaches the ERP by itself: its mBOMs are generated at every plant that
makes it in the release's transaction (or queued, when large), each changed mBOM writes its
message; sub-assembly releases regenerate their products; plants that cannot generate are
reported; an analyst can generate on demand."""

from __future__ import annotations

import pytest

from thread.bom.mbom import regeneration
from thread.bom.mbom.services import mboms_generate_on_demand
from thread.bom.models import MBom, MBomVersion, RegenerationJob, ReleaseGeneration
from thread.catalog import services as catalog
from thread.catalog.models import Part, PartRevision, PlantPart
from thread.flows.models import OutboundMessage

from ..conftest import problem
from .test_mbom_support import *  # noqa: F403 (fixtures)
from .test_mbom_support import categorise_screws, product_body, push

EBOMS = "/api/v1/bom/eboms/"
GENERATE = "/api/v1/bom/mboms/generate/"


@pytest.fixture
def making(rules):
    """BER (published rules, an ERP) makes every newly released product."""
    return catalog.plant_update(plant=rules.rule_set.plant, makes_new_products=True, actor=None,
                                reason="BER makes new products")


def second_plant(erp=None):
    return catalog.plant_create(code="CLT", name="Charlotte", time_zone="America/New_York",
                                actor=None, reason="t", erp_system=erp)


def test_a_product_pushed_with_release_reaches_the_erp_without_any_other_call(making, plm):
    response = plm.push(EBOMS, product_body("PR-1", leaves=3))
    assert response.status_code == 201
    body = response.json()
    assert body["revision"]["status"] == "released"
    [outcome] = body["mboms"]
    version = MBomVersion.objects.get(mbom__revision__part__number="PR-1", is_current=True)
    assert outcome == {"plant": "BER", "product": {"id": version.mbom.revision_id, "part": "PR-1",
                                                    "label": "A"},
                       "status": "generated", "mbom_version": {"id": version.pk, "number": 1},
                       "job": None, "detail": outcome["detail"]}
    # the product and its made frame: one mBOM and one message to the plant's ERP each
    assert set(MBom.objects.values_list("revision__part__number", flat=True)) == {"PR-1",
                                                                                   "PR-1-FR"}
    messages = OutboundMessage.objects.filter(topic="mbom.published")
    assert sorted(m.payload["part"] for m in messages) == ["PR-1", "PR-1-FR"]
    assert {m.system_id for m in messages} == {making.erp_system_id}
    generation = ReleaseGeneration.objects.get()
    assert [str(r) for r in generation.released.order_by("part__number")] == [
        str(r) for r in PartRevision.objects.filter(part__number__in=["PR-1", "PR-1-FR"])
        .order_by("part__number")]
    assert generation.reason and generation.created_by == plm.system.service_user


def test_a_failure_after_the_release_rolls_back_release_mboms_and_messages(making, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("mapping crashed")

    monkeypatch.setattr("thread.bom.mbom.services.mbom_generate", broken)
    with pytest.raises(RuntimeError):
        push(product_body("PR-1", leaves=2))
    assert not Part.objects.filter(number="PR-1").exists()
    assert (MBomVersion.objects.count(), OutboundMessage.objects.count(),
            ReleaseGeneration.objects.count()) == (0, 0, 0)


def test_releasing_a_sub_assembly_regenerates_the_products_above_it(making, plm):
    push(product_body("PR-1", leaves=2))
    first = MBomVersion.objects.get(mbom__revision__part__number="PR-1", is_current=True)
    # the frame gets a revision B with a longer tube, released on its own
    frame = {"part": "PR-1-FR", "revision": "B", "lines": [
        {"find_number": 1, "part": "TB-1", "quantity": "1300", "unit": "mm",
         "item_type": "component"}]}
    assert plm.push(EBOMS, frame).status_code == 201
    revision = PartRevision.objects.get(part__number="PR-1-FR", label="B")
    released = plm.push(f"/api/v1/catalog/part-revisions/{revision.pk}/release/",
                        {"reason": "ECR 7: longer tube"})
    assert released.status_code == 200
    body = released.json()
    assert body["status"] == "released"
    assert [(m["plant"], m["product"]["part"], m["status"]) for m in body["mboms"]] == [
        ("BER", "PR-1", "generated")]
    current = MBomVersion.objects.get(mbom__revision__part__number="PR-1", is_current=True)
    assert current.number == first.number + 1  # the product's mBOM names the new frame
    frame_version = MBomVersion.objects.get(mbom__revision=revision, is_current=True)
    assert OutboundMessage.objects.filter(about_id=frame_version.pk).count() == 1


def test_a_plant_without_published_rules_is_reported_not_skipped(making, plm, erp):
    clt = second_plant(erp=erp.system)
    catalog.plant_update(plant=clt, makes_new_products=True, actor=None, reason="t")
    body = plm.push(EBOMS, product_body("PR-1", leaves=1)).json()
    assert [(m["plant"], m["status"]) for m in body["mboms"]] == [
        ("BER", "generated"), ("CLT", "no_published_rules")]
    assert not MBom.objects.filter(plant=clt).exists()
    refused = ReleaseGeneration.objects.get(plant=clt)
    assert "no published mapping rules" in refused.detail


def test_plants_that_do_not_make_the_product_are_left_alone(rules, plm, units):
    plant = rules.rule_set.plant  # makes_new_products is off, and no mBOM of PR-1 there yet
    assert plm.push(EBOMS, product_body("PR-1", leaves=1)).json()["mboms"] == []
    # plant part data decides where there is some: make is generated, buy is not
    for number, make_or_buy in (("PR-2", "make"), ("PR-3", "buy")):
        part = catalog.part_create(number=number, name=number, base_unit=units["pcs"],
                                   actor=None, reason="t")
        PlantPart.objects.create(plant=plant, part=part, make_or_buy=make_or_buy)
    assert [(m["plant"], m["status"]) for m in plm.push(
        EBOMS, product_body("PR-2", leaves=1)).json()["mboms"]] == [("BER", "generated")]
    assert plm.push(EBOMS, product_body("PR-3", leaves=1)).json()["mboms"] == []


def test_a_plant_without_an_erp_keeps_the_mbom_and_says_so(rules, plm):
    plant = rules.rule_set.plant
    plant.erp_system = None
    plant.save()
    catalog.plant_update(plant=plant, makes_new_products=True, actor=None, reason="t")
    body = plm.push(EBOMS, product_body("PR-1", leaves=1)).json()
    assert [(m["plant"], m["status"]) for m in body["mboms"]] == [("BER", "no_erp_system")]
    assert body["mboms"][0]["mbom_version"]["number"] == 1
    assert not OutboundMessage.objects.exists()


def test_a_large_product_is_queued_as_a_job_started_in_the_release(making, plm, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.THREAD_GENERATE_INLINE_MAX_LINES = 3
    with django_capture_on_commit_callbacks() as enqueued:
        body = plm.push(EBOMS, product_body("PR-1", leaves=5)).json()
    [outcome] = body["mboms"]
    assert outcome["status"] == "queued" and outcome["mbom_version"] is None
    job = RegenerationJob.objects.get(pk=outcome["job"])
    assert (job.kind, [str(p) for p in job.products.all()]) == ("release", ["PR-1 rev A"])
    assert len(enqueued) == 1 and not MBom.objects.exists()
    categorise_screws()
    regeneration.regeneration_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 1, 1)
    assert MBomVersion.objects.filter(mbom__revision__part__number="PR-1").count() == 1
    assert OutboundMessage.objects.filter(topic="mbom.published").count() == 2


def test_generate_on_demand_is_audited_idempotent_and_for_people_only(making, plm, erp, person,
                                                                      roles):
    push(product_body("PR-1", leaves=2))
    versions = MBomVersion.objects.count()
    analyst = person("analyst")
    analyst.cookies["csrftoken"] = analyst.csrf_token
    request = {"part": "PR-1", "reason": "Plant data fixed"}
    response = analyst.post(GENERATE, request, format="json", HTTP_X_CSRFTOKEN=analyst.csrf_token,
                            HTTP_IDEMPOTENCY_KEY="gen-1")
    assert response.status_code == 202, response.content
    [job] = response.json()["jobs"]
    assert (job["plant"], job["kind"], job["status"], job["total"]) == ("BER", "on_demand",
                                                                        "queued", 1)
    assert job["created_by"] == analyst.user.username and "Plant data fixed" in job["reason"]
    again = analyst.post(GENERATE, request, format="json", HTTP_X_CSRFTOKEN=analyst.csrf_token,
                         HTTP_IDEMPOTENCY_KEY="gen-1")
    assert again["Idempotent-Replayed"] == "true"
    assert RegenerationJob.objects.filter(kind="on_demand").count() == 1
    regeneration.regeneration_run(job_id=job["id"])
    # unchanged inputs: the job ran and wrote no new version
    assert MBomVersion.objects.count() == versions
    assert RegenerationJob.objects.get(pk=job["id"]).changed == 0

    for system in (plm, erp):
        assert system.push(GENERATE, request).status_code == 403
    auditor = person("auditor")
    auditor.cookies["csrftoken"] = auditor.csrf_token
    assert auditor.post(GENERATE, request, format="json",
                        HTTP_X_CSRFTOKEN=auditor.csrf_token).status_code == 403
    unknown = analyst.post(GENERATE, {**request, "plants": ["BER", "XXX"]}, format="json",
                           HTTP_X_CSRFTOKEN=analyst.csrf_token)
    assert problem(unknown)["errors"][0]["pointer"] == "/plants/1"
    assert RegenerationJob.objects.filter(kind="on_demand").count() == 1


def test_the_jobs_are_readable_with_their_progress(making, person, roles):
    push(product_body("PR-1", leaves=1))
    revision = PartRevision.objects.get(part__number="PR-1")
    [job] = mboms_generate_on_demand(revision=revision, plants=None, actor=None, reason="t")
    reader = person("auditor")
    listed = reader.get("/api/v1/bom/regeneration-jobs/", {"kind": "on_demand"}).json()
    assert [(j["id"], j["percent"], j["products"][0]["part"]) for j in listed["results"]] == [
        (job.pk, 0, "PR-1")]


def test_releasing_a_bought_part_without_a_structure_makes_no_mbom(making, plm, units):
    part = catalog.part_create(number="BP-1", name="Bought part", base_unit=units["pcs"],
                               actor=None, reason="t", make_or_buy="buy")
    revision = catalog.revision_create(part=part, label="A", actor=None, reason="t")
    released = plm.push(f"/api/v1/catalog/part-revisions/{revision.pk}/release/",
                        {"reason": "Supplier part approved"})
    assert released.status_code == 200, released.content
    assert released.json()["mboms"] == [] and not MBom.objects.exists()
