"""``python -m devfakes --port N [--host 127.0.0.1]``: run every fake and the fake phone.

Stops on SIGINT or SIGTERM (the dev supervisor sends SIGTERM to its children).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from dataclasses import fields

from devfakes.config import FakeConfig, PhoneLink
from devfakes.server import serve

_CREDENTIALS = (
    "anthropic_api_key",
    "twilio_account_sid",
    "twilio_auth_token",
    "sentdm_api_key",
    "telegram_bot_token",
    "telegram_bot_username",
    "github_token",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devfakes", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--phone-link",
        action="append",
        default=[],
        metavar="LABEL=[POST:]URL",
        help="a link (or, with POST:, a button) in the fake phone's header; repeatable",
    )
    defaults = {f.name: f.default for f in fields(FakeConfig)}
    for name in _CREDENTIALS:
        parser.add_argument(
            f"--{name.replace('_', '-')}", default=defaults[name], help="accepted credential (default: the dev value)"
        )
    return parser


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until interrupted."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        links = tuple(PhoneLink.parse(spec) for spec in args.phone_link)
    except ValueError as exc:
        print(f"devfakes: --phone-link: {exc}", file=sys.stderr)
        return 2
    config = FakeConfig(phone_links=links, **{name: getattr(args, name) for name in _CREDENTIALS})
    signal.signal(signal.SIGTERM, _stop)
    try:
        serve(args.port, host=args.host, config=config)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"devfakes: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
