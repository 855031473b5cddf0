"""Local stand-ins for the third-party services AlertEngine talks to.

One HTTP server mounts a fake of each service under a path prefix (``/anthropic``, ``/twilio``,
``/sentdm``, ``/telegram``, ``/slack``, ``/github``). Each speaks the real wire format closely
enough that the official client libraries work against it with only their base URL changed, and
records what it received. The server also serves a control API (``/_control``), an inspection API
(``/_recorded``) and the fake phone (``/phone``). See ``docs/devfakes.md``.

Tests start it in-process with :func:`devfakes.server.start_in_thread`; the local demo runs
``python -m devfakes --port N``.
"""
