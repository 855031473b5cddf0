from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Audit ledger"

    def ready(self) -> None:
        from ledger import events  # noqa: F401 - registers the ledger's own event kinds
