"""Credentials the fakes accept and options of the fake phone.

The defaults are fixed, well-known development values so that the control plane's development
settings, the test suite and the demo agree on them without configuration. They are not secrets:
nothing outside this machine accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HTTP_METHODS = ("GET", "POST")


@dataclass(frozen=True)
class PhoneLink:
    """A link or button in the fake phone's header (e.g. the demo's "Start a spike").

    ``method`` GET renders a plain link that opens ``url``; POST renders a button that asks the
    fakes server to POST to ``url`` on the page's behalf, so the target needs no CORS set-up.
    """

    label: str
    url: str
    method: str = "GET"

    def __post_init__(self) -> None:
        if self.method not in HTTP_METHODS:
            raise ValueError(f"phone link method must be one of {HTTP_METHODS}, not {self.method!r}")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"phone link URL must be http(s): {self.url!r}")

    @classmethod
    def parse(cls, spec: str) -> PhoneLink:
        """Parse the command-line form ``LABEL=URL`` or ``LABEL=POST:URL``."""
        label, sep, target = spec.partition("=")
        if not sep or not label or not target:
            raise ValueError(f"expected LABEL=URL or LABEL=POST:URL, got {spec!r}")
        method = "GET"
        for candidate in HTTP_METHODS:
            if target.startswith(f"{candidate}:"):
                method, target = candidate, target[len(candidate) + 1 :]
        return cls(label=label, url=target, method=method)


@dataclass(frozen=True)
class FakeConfig:
    """What each fake accepts as valid credentials, and the phone's header links."""

    anthropic_api_key: str = "sk-ant-devfake"
    twilio_account_sid: str = "ACdeadbeefdeadbeefdeadbeefdeadbeef"
    twilio_auth_token: str = "devfake-twilio-auth-token"  # noqa: S105 (public dev value, see above)
    sentdm_api_key: str = "sk_test_devfake"
    telegram_bot_token: str = "7000000001:AAHdevfakeTelegramBotToken0000000000"  # noqa: S105 (public dev value)
    telegram_bot_username: str = "alertengine_dev_bot"
    github_token: str = "ghp_devfake"  # noqa: S105 (public dev value)
    phone_links: tuple[PhoneLink, ...] = field(default_factory=tuple)
    # Bounded so a long demo session or a load test cannot grow the process without limit.
    max_recorded: int = 2000
