#!/usr/bin/env python
"""Django's command-line utility for the AlertEngine control plane."""

import sys

from saas.entrypoint import configured


def main() -> None:
    def load():
        import django
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - import and validate settings before any command runs
        django.setup()

    configured(load)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
