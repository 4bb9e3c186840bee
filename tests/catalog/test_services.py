from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from thread.catalog import selectors, services
from thread.catalog.choices import RevisionStatus
from thread.catalog.models import Part, PartRevision
from thread.errors import InvalidInput, StateConflict


@pytest.fixture
def engineer(db):
    return get_user_model().objects.create_user("eng", password="pw")


@pytest.fixture
def part(units, engineer):
    return services.part_create(number="BK-100", name="E-bike", base_unit=units["pcs"],
                                actor=engineer, reason="new product")


def test_history_names_the_user_and_the_reason(part, engineer):
    services.part_update(part=part, actor=engineer, reason="rename for catalogue", name="E-bike city")
    latest = part.history.order_by("-history_id").first()
    assert (latest.history_user, latest.history_change_reason, latest.name) == (
        engineer, "rename for catalogue", "E-bike city")
    assert part.history.count() == 2


def test_writes_without_a_reason_are_refused_and_change_nothing(part, engineer):
    with pytest.raises(InvalidInput) as refused:
        services.part_update(part=part, actor=engineer, reason="  ", name="Other")
    assert refused.value.errors[0].pointer == "/reason"
    assert Part.objects.get(pk=part.pk).name == "E-bike"


def test_a_released_revision_never_changes(part, engineer):
    revision = services.revision_create(part=part, label="A", actor=engineer, reason="new",
                                        attributes={"color": "grey"})
    services.revision_release(revision=revision, actor=engineer, reason="PLM release")
    with pytest.raises(StateConflict) as refused:
        services.revision_update(revision=revision, actor=engineer, reason="edit",
                                 attributes={"color": "red"})
    assert refused.value.kind == "released-revision-immutable"
    revision.refresh_from_db()
    assert revision.attributes == {"color": "grey"}
    assert revision.history.count() == 2  # created, released — the refused edit left no trace


def test_pushing_the_same_content_to_a_released_revision_is_accepted_unchanged(part, engineer):
    revision = services.revision_create(part=part, label="A", actor=engineer, reason="new")
    services.revision_release(revision=revision, actor=engineer, reason="release")
    same, created = services.revision_upsert(part=part, label="A", actor=engineer,
                                             reason="repeat push")
    assert (same.pk, created, same.status) == (revision.pk, False, RevisionStatus.RELEASED)


def test_release_supersedes_the_previous_release_and_is_in_effect(part, engineer):
    a = services.revision_create(part=part, label="A", actor=engineer, reason="new")
    services.revision_release(revision=a, actor=engineer, reason="first release")
    b = services.revision_create(part=part, label="B", actor=engineer, reason="change")
    assert selectors.revision_in_effect(part=part) == a
    assert selectors.revision_in_effect(part=part, include_drafts=True) == a
    services.revision_release(revision=b, actor=engineer, reason="second release")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (RevisionStatus.SUPERSEDED, RevisionStatus.RELEASED)
    assert b.released_by == engineer and b.released_at is not None
    assert selectors.revision_in_effect(part=part) == b
    assert a.history.first().history_change_reason == "Superseded by revision B: second release"


def test_drafts_are_in_effect_only_for_previews(part, engineer):
    draft = services.revision_create(part=part, label="A", actor=engineer, reason="new")
    assert selectors.revision_in_effect(part=part) is None
    assert selectors.revision_in_effect(part=part, include_drafts=True) == draft


def test_only_a_draft_can_be_released(part, engineer):
    revision = services.revision_create(part=part, label="A", actor=engineer, reason="new")
    services.revision_release(revision=revision, actor=engineer, reason="release")
    with pytest.raises(StateConflict, match="only a draft can be released"):
        services.revision_release(revision=revision, actor=engineer, reason="again")


def test_duplicate_revision_label_is_refused(part, engineer):
    services.revision_create(part=part, label="A", actor=engineer, reason="new")
    with pytest.raises(StateConflict, match="already has a revision 'A'"):
        services.revision_create(part=part, label="A", actor=engineer, reason="again")
    assert PartRevision.objects.filter(part=part).count() == 1


def test_base_unit_is_fixed_once_created(part, units, engineer):
    with pytest.raises(InvalidInput) as refused:
        services.part_update(part=part, actor=engineer, reason="x", base_unit=units["kg"])
    assert refused.value.errors[0].pointer == "/base_unit"


@pytest.mark.parametrize("number", ["", " BK-1", "A" * 65, "BK\x00-1", "BK\n1"])
def test_bad_part_numbers_are_refused(units, engineer, number):
    with pytest.raises(Exception) as refused:
        services.part_create(number=number, name="x", base_unit=units["pcs"], actor=engineer,
                             reason="x")
    assert "number" in str(refused.value)
    assert not Part.objects.exists()


def test_cross_dimension_conversion_must_cross_dimensions(part, units, engineer):
    with pytest.raises(Exception, match="Units of one dimension"):
        services.unit_conversion_set(part=part, from_unit=units["m"], to_unit=units["mm"],
                                     factor=Decimal("1000"), actor=engineer, reason="x")


def test_plant_time_zone_must_be_iana(db, engineer):
    with pytest.raises(Exception, match="not an IANA time zone"):
        services.plant_create(code="X", name="X", time_zone="Mars/Olympus", actor=engineer,
                              reason="x")


def test_cross_reference_replaces_the_external_id_with_history(part, engineer):
    from thread.flows.services import system_create

    erp = system_create(name="SAP", kind="erp", actor=engineer, reason="x")
    plant = services.plant_create(code="BER", name="Berlin", time_zone="Europe/Berlin",
                                  actor=engineer, reason="x")
    ref = services.cross_reference_set(system=erp, kind="erp_material", external_id="M-1",
                                       target=part, plant=plant, actor=engineer, reason="map")
    again = services.cross_reference_set(system=erp, kind="erp_material", external_id="M-2",
                                         target=part, plant=plant, actor=engineer, reason="remap")
    assert again.pk == ref.pk and again.target == part
    assert [h.external_id for h in again.history.order_by("history_id")] == ["M-1", "M-2"]
