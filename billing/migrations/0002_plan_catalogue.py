"""Load the plan catalogue (the tiers of PRODUCT.md); updating it means a new data migration."""

from django.db import migrations

# Frozen here rather than imported from billing.catalogue: a migration must keep loading what it
# loaded the day it was written, whatever the module says later.
PLANS = [
    ("free", "Free", 0, 0, 0, 0, None, [], []),
    ("starter", "Starter", 1, 1900, 1, 5, None, ["telegram", "webhook"], []),
    ("growth", "Growth", 2, 9900, 1, 10, None, ["whatsapp_twilio", "whatsapp_sentdm", "webhook"],
     ["ai_diagnosis", "commit_correlation"]),
    ("team", "Team", 3, 29900, 3, 50, 10, ["whatsapp_twilio", "whatsapp_sentdm", "telegram", "webhook"],
     ["ai_diagnosis", "commit_correlation", "council"]),
    ("compliance", "Compliance", 4, 79900, 10, 200, 5,
     ["whatsapp_twilio", "whatsapp_sentdm", "telegram", "slack", "webhook", "voice"],
     ["ai_diagnosis", "commit_correlation", "council", "dlq", "voice_escalation", "audit_export"]),
    ("platform", "Platform", 5, 150000, 20, 1000, 2,
     ["whatsapp_twilio", "whatsapp_sentdm", "telegram", "slack", "webhook", "voice"],
     ["ai_diagnosis", "commit_correlation", "council", "dlq", "voice_escalation", "audit_export", "custom_policy"]),
    ("enterprise", "Enterprise", 6, None, None, None, None,
     ["whatsapp_twilio", "whatsapp_sentdm", "telegram", "slack", "webhook", "voice"],
     ["ai_diagnosis", "commit_correlation", "council", "dlq", "voice_escalation", "audit_export", "custom_policy"]),
]


def load(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for slug, name, rank, price, services, incidents, overage, channels, features in PLANS:
        Plan.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "rank": rank,
                "price_cents": price,
                "max_services": services,
                "incidents_per_period": incidents,
                "overage_cents_per_incident": overage,
                "channels": channels,
                "features": features,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
