"""The bom app's admin is its three rooms' admins: eBOMs and their import, the analyst's
mapping rule sets, and the mBOMs with their previews and jobs. Importing them registers them."""

from .ebom import admin as ebom_admin  # noqa: F401
from .mbom import admin as mbom_admin  # noqa: F401
from .rules import admin as rules_admin  # noqa: F401
