"""The Slack incoming-webhook fake, driven with ``requests``."""

from __future__ import annotations

import requests

from devfakes.server import FakesHandle

HOOK = "/slack/services/T0001/B0002/s3cr3tPart"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Checkout API degraded*"}}]


def test_a_block_kit_message_is_answered_ok_and_recorded_without_the_secret(fakes: FakesHandle) -> None:
    answer = requests.post(f"{fakes.url}{HOOK}", json={"text": "Checkout API degraded", "blocks": BLOCKS}, timeout=5)

    assert (answer.status_code, answer.text) == (200, "ok")
    (post,) = fakes.slack.posts()
    assert (post["team"], post["hook"], post["payload"]["blocks"]) == ("T0001", "B0002", BLOCKS)
    (entry,) = fakes.recorded("slack")
    assert entry["path"] == "/slack/services/T0001/B0002/<secret>"


def test_slack_error_codes_for_empty_and_invalid_messages(fakes: FakesHandle) -> None:
    empty = requests.post(f"{fakes.url}{HOOK}", json={}, timeout=5)
    bad_blocks = requests.post(f"{fakes.url}{HOOK}", json={"text": "x", "blocks": [{"text": "no type"}]}, timeout=5)
    no_service = requests.post(f"{fakes.url}/slack/services/nope", json={"text": "x"}, timeout=5)

    assert (empty.status_code, empty.text) == (400, "no_text")
    assert (bad_blocks.status_code, bad_blocks.text) == (400, "invalid_blocks")
    assert (no_service.status_code, no_service.text) == (404, "no_service")
    assert fakes.slack.posts() == []
