"""The ids peers assigned to Thread's objects (PeerObject), read before a converging delivery
and recorded after it (thread.flows.delivery). Recorded whatever the outcome: a delivery cut
off halfway has still created what it created, and its retry starts from there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Q

from connectors.base import PeerId

from .models import PeerObject


def known_ids(*, system_id: int) -> dict[tuple[str, str], str]:
    """Every id the system assigned, by (kind, natural key): one query."""
    return {(kind, key): peer_id for kind, key, peer_id in PeerObject.objects.filter(
        system_id=system_id).values_list("kind", "natural_key", "peer_id")}


def peer_ids_record(*, system_id: int, ids: Iterable[PeerId]) -> int:
    """Record (or correct) what a delivery learnt; in the caller's transaction. A peer id that
    no longer exists is reported by the connector with an empty peer id and forgotten here."""
    learnt: Mapping[tuple[str, str], str] = {(i.kind, i.key): i.peer_id for i in ids}
    if not learnt:
        return 0
    forgotten = [key for key, peer_id in learnt.items() if not peer_id]
    if forgotten:
        which = Q()
        for kind, key in forgotten:
            which |= Q(kind=kind, natural_key=key)
        PeerObject.objects.filter(which, system_id=system_id).delete()
    current = {(row.kind, row.natural_key): row for row in PeerObject.objects.filter(
        system_id=system_id, natural_key__in={key for _, key in learnt})}
    written = 0
    for (kind, key), peer_id in learnt.items():
        if not peer_id:
            continue
        row = current.get((kind, key))
        if row is None:
            PeerObject.objects.create(system_id=system_id, kind=kind, natural_key=key,
                                      peer_id=peer_id)
        elif row.peer_id != peer_id:
            row.peer_id = peer_id
            row.save(update_fields=["peer_id", "updated_at"])
        else:
            continue
        written += 1
    return written
