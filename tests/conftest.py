"""Load the control-plane fixtures, except in the SDK-only virtualenv (which has no Django)."""

import importlib.util

pytest_plugins = ["tests.plugins.controlplane"] if importlib.util.find_spec("django") else []
