"""Endpoints of the tenant API: services and on-call contacts."""

from __future__ import annotations

from rest_framework import viewsets

from tenants.api.serializers import ContactSerializer, ServiceSerializer
from tenants.configuration.models import Contact, Service
from tenants.configuration.services import configuration_delete


class _ConfigurationViewSet(viewsets.ModelViewSet):
    def perform_destroy(self, instance) -> None:
        configuration_delete(instance=instance, actor_id=str(self.request.user), source="api")


class ServiceViewSet(_ConfigurationViewSet):
    """Monitored services. Creating one beyond the plan's limit is refused with 400."""

    queryset = Service.objects.order_by("pk")
    serializer_class = ServiceSerializer


class ContactViewSet(_ConfigurationViewSet):
    """On-call contacts, in escalation order."""

    queryset = Contact.objects.order_by("escalation_order", "pk")
    serializer_class = ContactSerializer
