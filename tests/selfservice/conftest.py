"""Fixtures of the self-service tests: the portal's (compiled catalogues, fresh rate limits, the SPEC day)."""

from tests.admin.conftest import staff  # noqa: F401
from tests.portal.conftest import _compiled_catalogues, _fresh_rate_limits, spec_day  # noqa: F401
