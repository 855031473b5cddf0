"""Serializers of the tenant API; writes go through the configuration services (limits, ledger)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from tenants.configuration.models import Contact, Service
from tenants.configuration.services import configuration_save


def _as_drf_error(error: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(error, "error_dict"):
        detail = {("non_field_errors" if k == "__all__" else k): v for k, v in error.message_dict.items()}
        return serializers.ValidationError(detail)
    return serializers.ValidationError({"non_field_errors": error.messages})


class ConfigurationSerializer(serializers.ModelSerializer):
    """Creates and updates through :func:`configuration_save`, which runs the model's validation."""

    def _save(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        request = self.context["request"]
        try:
            return configuration_save(instance=instance, actor_id=str(request.user), source="api")
        except DjangoValidationError as error:
            raise _as_drf_error(error) from None

    def create(self, validated_data):
        return self._save(self.Meta.model(), validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)


class ServiceSerializer(ConfigurationSerializer):
    poll_token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="Write-only; never returned."
    )
    poll_token_set = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = ["id", "name", "health_url", "poll_token", "poll_token_set", "enabled", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_poll_token_set(self, service: Service) -> bool:
        return bool(service.poll_token)


class ContactSerializer(ConfigurationSerializer):
    telegram_linked = serializers.BooleanField(read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "phone_e164", "escalation_order", "active", "user", "telegram_linked"]
        read_only_fields = ["id", "telegram_linked"]
