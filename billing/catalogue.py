"""The tiers of the public price list (PRODUCT.md), as data: loaded by a migration, read by tests.

Channel kinds are those of ``tenants.configuration.ChannelSetting``; feature names are the ones
callers pass to ``Entitlements.allows``.
"""

from __future__ import annotations

WHATSAPP = ("whatsapp_twilio", "whatsapp_sentdm")
ALL_CHANNELS = ("whatsapp_twilio", "whatsapp_sentdm", "telegram", "slack", "webhook", "voice")
ALL_FEATURES = (
    "ai_diagnosis",
    "commit_correlation",
    "council",
    "dlq",
    "voice_escalation",
    "audit_export",
    "custom_policy",
)

_GROWTH_FEATURES = ("ai_diagnosis", "commit_correlation")
_TEAM_FEATURES = (*_GROWTH_FEATURES, "council")
_COMPLIANCE_FEATURES = (*_TEAM_FEATURES, "dlq", "voice_escalation", "audit_export")

PLANS: tuple[dict, ...] = (
    {
        "slug": "free",
        "name": "Free",
        "rank": 0,
        "price_cents": 0,
        "max_services": 0,
        "incidents_per_period": 0,
        "overage_cents_per_incident": None,
        "channels": [],
        "features": [],
    },
    {
        "slug": "starter",
        "name": "Starter",
        "rank": 1,
        "price_cents": 1900,
        "max_services": 1,
        "incidents_per_period": 5,
        "overage_cents_per_incident": None,
        "channels": ["telegram", "webhook"],
        "features": [],
    },
    {
        "slug": "growth",
        "name": "Growth",
        "rank": 2,
        "price_cents": 9900,
        "max_services": 1,
        "incidents_per_period": 10,
        "overage_cents_per_incident": None,
        "channels": [*WHATSAPP, "webhook"],
        "features": list(_GROWTH_FEATURES),
    },
    {
        "slug": "team",
        "name": "Team",
        "rank": 3,
        "price_cents": 29900,
        "max_services": 3,
        "incidents_per_period": 50,
        "overage_cents_per_incident": 10,
        "channels": [*WHATSAPP, "telegram", "webhook"],
        "features": list(_TEAM_FEATURES),
    },
    {
        "slug": "compliance",
        "name": "Compliance",
        "rank": 4,
        "price_cents": 79900,
        "max_services": 10,
        "incidents_per_period": 200,
        "overage_cents_per_incident": 5,
        "channels": [*WHATSAPP, "telegram", "slack", "webhook", "voice"],
        "features": list(_COMPLIANCE_FEATURES),
    },
    {
        "slug": "platform",
        "name": "Platform",
        "rank": 5,
        "price_cents": 150000,
        "max_services": 20,
        "incidents_per_period": 1000,
        "overage_cents_per_incident": 2,
        "channels": list(ALL_CHANNELS),
        "features": list(ALL_FEATURES),
    },
    {
        "slug": "enterprise",
        "name": "Enterprise",
        "rank": 6,
        "price_cents": None,
        "max_services": None,
        "incidents_per_period": None,
        "overage_cents_per_incident": None,
        "channels": list(ALL_CHANNELS),
        "features": list(ALL_FEATURES),
    },
)
