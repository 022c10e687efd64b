"""Fixtures CLI tests share with the library tests they mirror."""

from tests.signing.conftest import pki, unreachable_trust_config  # noqa: F401  (fixtures)
