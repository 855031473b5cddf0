from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "tenants.configuration"
    label = "configuration"
    verbose_name = "Configuration"
