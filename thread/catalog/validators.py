import unicodedata

from django.core.exceptions import ValidationError

PART_NUMBER_MAX_LENGTH = 64
# A revision label as PLMs write them: A, B, 02, 1.1 (shared by the API and eBOM imports).
REVISION_LABEL_PATTERN = r"^[A-Za-z0-9.\-_]{1,16}$"


def part_number_problem(value: str) -> str | None:
    """Why a part number is unusable, or None. Shared by the model, the API and imports."""
    if not isinstance(value, str) or not value.strip():
        return "A part number must not be empty."
    if len(value) > PART_NUMBER_MAX_LENGTH:
        return f"A part number has at most {PART_NUMBER_MAX_LENGTH} characters."
    if value != value.strip():
        return "A part number must not start or end with spaces."
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        return "A part number must not contain control characters."
    return None


def validate_part_number(value: str) -> None:
    problem = part_number_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_part_number")
