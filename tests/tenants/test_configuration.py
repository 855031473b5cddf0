"""Tenant configuration: secrets encrypted at rest, URLs and phones validated, plan limits enforced."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings

from saas.fields import DecryptionError
from tenants.configuration.models import ChannelSetting, Contact, RecoveryAction, Service
from tenants.configuration.secrets import signing_secret_generate
from tests.tenants.builders import raw_column, set_tier

pytestmark = pytest.mark.django_db


def _service(**fields) -> Service:
    service = Service(**({"name": "payments-api", "health_url": "https://api.example.com/health/alerts"} | fields))
    service.full_clean()
    service.save()
    return service


def test_credentials_are_unreadable_in_a_raw_database_read(in_tenant):
    set_tier(in_tenant, "enterprise")
    connection.set_tenant(in_tenant)
    channel = ChannelSetting(
        kind="whatsapp_twilio",
        enabled=True,
        use_platform_default=False,
        twilio_account_sid="AC123",
        twilio_auth_token="twilio-auth-token-plaintext",
        twilio_from="+14155238886",
    )
    channel.full_clean()
    channel.save()
    service = _service(poll_token="poll-token-plaintext")

    stored = raw_column("configuration_channelsetting", "twilio_auth_token", channel.pk)
    assert "twilio-auth-token-plaintext" not in stored and stored.startswith("gAAAA")
    assert "poll-token-plaintext" not in raw_column("configuration_service", "poll_token", service.pk)
    assert ChannelSetting.objects.get(pk=channel.pk).twilio_auth_token == "twilio-auth-token-plaintext"
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM configuration_channelsetting")
        dump = repr(cursor.fetchall())
    assert "twilio-auth-token-plaintext" not in dump


def test_a_rotated_key_list_still_decrypts_old_values_and_encrypts_with_the_new_key(in_tenant, settings):
    set_tier(in_tenant, "team")
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    service = _service(poll_token="before-rotation")
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        assert Service.objects.get(pk=service.pk).poll_token == "before-rotation"
        later = _service(name="second", poll_token="after-rotation")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        assert Service.objects.get(pk=later.pk).poll_token == "after-rotation"
        with pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
            Service.objects.get(pk=service.pk)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/health", "http:// or https://"),
        ("https://user:secret@example.com/health", "credentials"),
        ("https://token@example.com/health", "credentials"),
        ("javascript:alert(1)", "http:// or https://"),
    ],
)
def test_health_and_webhook_urls_refuse_other_schemes_and_credentials(in_tenant, url, message):
    set_tier(in_tenant, "enterprise")
    connection.set_tenant(in_tenant)
    with pytest.raises(ValidationError) as service_error:
        _service(health_url=url)
    assert message in str(service_error.value.message_dict["health_url"])
    action = RecoveryAction(name="restart_worker_pool", webhook_url=url, signing_secret=signing_secret_generate())
    with pytest.raises(ValidationError) as action_error:
        action.full_clean()
    assert message in str(action_error.value.message_dict["webhook_url"])


@pytest.mark.parametrize("phone", ["0771234567", "+263 77 123 4567", "+0123456789", "+1234"])
def test_contact_phones_must_be_e164(in_tenant, phone):
    with pytest.raises(ValidationError) as error:
        Contact(name="Tendai", phone_e164=phone).full_clean()
    assert "E.164" in str(error.value.message_dict["phone_e164"])


def test_a_telegram_only_contact_needs_no_phone_and_gets_a_one_time_link_code(in_tenant):
    first, second = Contact(name="Tendai"), Contact(name="Rudo", phone_e164="+263771234567")
    for contact in (first, second):
        contact.full_clean()
        contact.save()
    assert first.telegram_link_code and first.telegram_link_code != second.telegram_link_code
    assert not first.telegram_linked


def test_signing_secrets_are_standard_webhooks_secrets():
    import base64

    secret = signing_secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert secret != signing_secret_generate()


def test_free_plan_cannot_add_a_polled_service(in_tenant):
    with pytest.raises(ValidationError, match="The Free plan does not include polled services"):
        _service()


def test_adding_a_service_beyond_the_plan_limit_is_refused_naming_the_plan(in_tenant):
    set_tier(in_tenant, "team")
    connection.set_tenant(in_tenant)
    for n in range(3):
        _service(name=f"svc-{n}")
    with pytest.raises(ValidationError, match="The Team plan includes 3 services, and you have 3"):
        _service(name="svc-4")
    assert Service.objects.count() == 3


def test_enabling_a_channel_the_plan_lacks_is_refused_naming_the_plan(in_tenant):
    set_tier(in_tenant, "starter")
    connection.set_tenant(in_tenant)
    slack = ChannelSetting(kind="slack", enabled=True, slack_webhook_url="https://hooks.slack.com/services/T/B/X")
    with pytest.raises(ValidationError) as error:
        slack.full_clean()
    assert "The Starter plan does not include the Slack channel" in str(error.value.message_dict["enabled"])
    telegram = ChannelSetting(kind="telegram", enabled=True, use_platform_default=True)
    telegram.full_clean()


def test_an_enabled_channel_on_its_own_account_needs_its_credentials(in_tenant):
    set_tier(in_tenant, "growth")
    connection.set_tenant(in_tenant)
    with pytest.raises(ValidationError) as error:
        ChannelSetting(kind="whatsapp_sentdm", enabled=True, use_platform_default=False).full_clean()
    assert set(error.value.message_dict) == {"sentdm_api_key", "sentdm_sender_id"}
    with pytest.raises(ValidationError) as webhook_error:
        ChannelSetting(kind="webhook", enabled=True).full_clean()
    assert set(webhook_error.value.message_dict) == {"webhook_url"}
