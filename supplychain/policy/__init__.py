"""Deployment policies: what `supplychain check` requires of a model, loaded and validated once."""

from supplychain.policy.load import PolicyError, load_policy, parse_policy
from supplychain.policy.model import (
    BomPolicy,
    FormatPolicy,
    HfCachePolicy,
    LicensePolicy,
    Policy,
    RemoteCodePolicy,
    ScanPolicy,
    SignaturePolicy,
    SignerSpec,
)

__all__ = [
    "BomPolicy",
    "FormatPolicy",
    "HfCachePolicy",
    "LicensePolicy",
    "Policy",
    "PolicyError",
    "RemoteCodePolicy",
    "ScanPolicy",
    "SignaturePolicy",
    "SignerSpec",
    "load_policy",
    "parse_policy",
]
