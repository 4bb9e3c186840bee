"""django-q2 entry points of the bom app. Thin: the job row owns the progress, so a task that
runs twice, late, or after a crash only continues where the job stands."""

from __future__ import annotations

from thread.bom.mbom import regeneration

RESUME_SCHEDULE = "resume mBOM regenerations"


def regenerate(job_id: int) -> None:
    regeneration.regeneration_run(job_id=job_id)


def resume_regenerations() -> list[int]:
    return regeneration.regeneration_resume_stale()
