"""The GitHub commit API fake, driven with ``requests``."""

from __future__ import annotations

import requests

from devfakes.config import FakeConfig
from devfakes.github_api import push_event
from devfakes.server import FakesHandle

TOKEN = {"Authorization": f"Bearer {FakeConfig().github_token}", "Accept": "application/vnd.github+json"}
FILES = [
    {"filename": "checkout/db/queries.py", "additions": 10, "deletions": 3},
    {"filename": "checkout/migrations/0007_isolation.py", "additions": 2, "status": "added"},
]


def test_a_registered_commit_is_served_with_stats_and_files(fakes: FakesHandle) -> None:
    added = fakes.github.add_commit("acme", "checkout", message="Fix checkout query isolation level", files=FILES)

    answer = requests.get(
        f"{fakes.url}/github/repos/acme/checkout/commits/{added['sha'][:7]}", headers=TOKEN, timeout=5
    )

    assert answer.status_code == 200
    commit = answer.json()
    assert commit["sha"] == added["sha"]
    assert commit["stats"] == {"total": 15, "additions": 12, "deletions": 3}
    assert [(f["filename"], f["status"]) for f in commit["files"]] == [
        ("checkout/db/queries.py", "modified"),
        ("checkout/migrations/0007_isolation.py", "added"),
    ]
    assert commit["commit"]["message"] == "Fix checkout query isolation level"
    assert commit["commit"]["author"]["name"] == "John"


def test_unknown_commits_and_repositories_and_bad_tokens_are_refused(fakes: FakesHandle) -> None:
    fakes.github.add_commit("acme", "checkout", message="m", files=FILES)
    base = f"{fakes.url}/github/repos"

    unknown_sha = requests.get(f"{base}/acme/checkout/commits/deadbeef", headers=TOKEN, timeout=5)
    unknown_repo = requests.get(f"{base}/acme/other/commits/deadbeef", headers=TOKEN, timeout=5)
    bad_token = requests.get(f"{base}/acme/checkout/commits/deadbeef", headers={"Authorization": "Bearer x"}, timeout=5)

    assert (unknown_sha.status_code, unknown_sha.json()["message"]) == (422, "No commit found for SHA: deadbeef")
    assert unknown_repo.status_code == 404
    assert (bad_token.status_code, bad_token.json()["message"]) == (401, "Bad credentials")


def test_commits_can_be_registered_over_the_control_api_and_make_a_push_event(fakes: FakesHandle) -> None:
    answer = requests.post(
        f"{fakes.url}/_control/github/commits",
        json={"owner": "acme", "repo": "checkout", "message": "Tune pool", "files": FILES, "author_name": "Ann"},
        timeout=5,
    )
    assert answer.status_code == 201

    event = push_event("acme", "checkout", [answer.json()])

    assert event["after"] == answer.json()["sha"]
    assert event["head_commit"]["modified"] == ["checkout/db/queries.py"]
    assert event["head_commit"]["added"] == ["checkout/migrations/0007_isolation.py"]
    assert event["repository"]["full_name"] == "acme/checkout"
