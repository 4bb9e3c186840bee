"""Reads of the sandbox page."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, QuerySet

from .choices import PeerName
from .models import SandboxPeer, SandboxRequest


def sandbox_peers() -> list[SandboxPeer]:
    """Every simulated peer with its switch (a peer never switched is working) and its request
    counts by outcome as `outcome_counts`. Two queries."""
    stored = {peer.name: peer for peer in SandboxPeer.objects.select_related("switched_by")}
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in SandboxRequest.objects.order_by().values("peer", "outcome").annotate(n=Count("id")):
        counts[row["peer"]][row["outcome"]] = row["n"]
    peers = []
    for name in PeerName.values:
        peer = stored.get(name) or SandboxPeer(name=name)
        peer.outcome_counts = counts[name]
        peers.append(peer)
    return peers


def sandbox_requests(*, peer: str = "") -> QuerySet[SandboxRequest]:
    queryset = SandboxRequest.objects.all()
    if peer:
        queryset = queryset.filter(peer=peer)
    return queryset
