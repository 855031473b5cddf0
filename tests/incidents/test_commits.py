"""Diff-in-Pocket: the signed GitHub push webhook, the correlation window and the path rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid

import pytest
from django.contrib.auth import get_user_model

from devfakes.github_api import push_event
from incidents.commits import commit_stats_fetch, incident_commits, path_touches_db
from incidents.models import Commit, CommitSource
from tests.incidents.builders import on_plan
from tests.incidents.test_diagnosis import fakes, fakes_server, open_incident

pytestmark = pytest.mark.django_db
__all__ = ["fakes", "fakes_server"]  # fixtures shared with test_diagnosis

SECRET = "a-webhook-secret-typed-into-github"


@pytest.fixture
def webhook(client, in_tenant, settings):
    """A client on the tenant's host, and the tenant's webhook secret configured."""
    on_plan("growth")
    CommitSource.objects.create(webhook_secret=SECRET)
    client.defaults["HTTP_HOST"] = f"{in_tenant.schema_name}.{settings.ALERTENGINE_BASE_DOMAIN}"
    return client


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, body: bytes, *, signature: str | None, delivery: str | None = None, event: str = "push"):
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4())}
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return client.post("/commits/webhook", data=body, content_type="application/json", **headers)


def a_push(fakes, message: str = "Fix checkout query isolation level") -> tuple[bytes, dict]:
    commit = fakes.github.add_commit("acme", "checkout", message=message, author_name="John", files=[
        {"filename": "checkout/repository/orders.py", "additions": 12, "deletions": 3},
        {"filename": "migrations/0042_isolation.sql", "status": "added", "additions": 0, "deletions": 0},
    ])
    return json.dumps(push_event("acme", "checkout", [commit])).encode(), commit


def test_a_correctly_signed_push_stores_its_commits(webhook, fakes):
    body, commit = a_push(fakes)
    response = deliver(webhook, body, signature=sign(body))

    assert response.status_code == 200 and response.json() == {"event": "push", "stored": 1}
    stored = Commit.objects.get(sha=commit["sha"])
    assert (stored.repository, stored.branch, stored.author) == ("acme/checkout", "main", "John")
    assert stored.message == "Fix checkout query isolation level"
    assert stored.files_modified == ["checkout/repository/orders.py"]
    assert stored.files_added == ["migrations/0042_isolation.sql"] and stored.files_removed == []


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "sha1=abc", "WRONG-SECRET"],
                         ids=["unsigned", "empty", "zeros", "sha1", "other-secret"])
def test_an_unsigned_or_wrongly_signed_push_is_refused_and_stores_nothing(webhook, fakes, signature):
    body, _ = a_push(fakes)
    if signature == "WRONG-SECRET":
        signature = sign(body, secret="not-the-tenants-secret")
    response = deliver(webhook, body, signature=signature)
    assert response.status_code == 401
    assert not Commit.objects.exists()


def test_a_body_changed_after_signing_is_refused(webhook, fakes):
    body, _ = a_push(fakes)
    signature = sign(body)
    response = deliver(webhook, body.replace(b"Fix checkout", b"Fix payments"), signature=signature)
    assert response.status_code == 401


def test_a_replayed_delivery_is_refused_with_409_and_nothing_is_stored_twice(webhook, fakes):
    body, _ = a_push(fakes)
    delivery = str(uuid.uuid4())
    assert deliver(webhook, body, signature=sign(body), delivery=delivery).status_code == 200
    replay = deliver(webhook, body, signature=sign(body), delivery=delivery)
    assert replay.status_code == 409
    assert Commit.objects.count() == 1


def test_a_push_to_a_tenant_without_a_webhook_secret_is_refused(client, in_tenant, settings, fakes):
    client.defaults["HTTP_HOST"] = f"{in_tenant.schema_name}.{settings.ALERTENGINE_BASE_DOMAIN}"
    body, _ = a_push(fakes)
    assert deliver(client, body, signature=sign(body)).status_code == 401


def test_additions_and_deletions_are_fetched_from_the_github_api_with_the_tenants_token(webhook, fakes):
    source = CommitSource.objects.get()
    source.github_token = "ghp_devfake"
    source.save()
    body, commit = a_push(fakes)
    deliver(webhook, body, signature=sign(body))
    stored = Commit.objects.get(sha=commit["sha"])

    assert commit_stats_fetch(commit_ids=[stored.pk]) == 1
    stored.refresh_from_db()
    assert (stored.additions, stored.deletions) == (12, 3)
    [call] = fakes.recorded("github")
    assert call["path"].endswith(f"/repos/acme/checkout/commits/{commit['sha']}") and call["status"] == 200


def test_a_wrong_github_token_leaves_the_figures_unknown(webhook, fakes):
    source = CommitSource.objects.get()
    source.github_token = "ghp_wrong"
    source.save()
    body, commit = a_push(fakes)
    deliver(webhook, body, signature=sign(body))
    stored = Commit.objects.get(sha=commit["sha"])
    assert commit_stats_fetch(commit_ids=[stored.pk]) == 0
    stored.refresh_from_db()
    assert stored.additions is None


def _commit(incident, minutes: float, sha: str, files: list[str]) -> Commit:
    return Commit.objects.create(sha=sha * 40, repository="acme/checkout", branch="main", message=f"commit {sha}",
                                 author="John", committed_at=incident.opened_at - dt.timedelta(hours=3),
                                 pushed_at=incident.opened_at + dt.timedelta(minutes=minutes), files_modified=files)


def test_commits_from_ten_minutes_before_to_one_after_opening_are_correlated_newest_first(fakes):
    on_plan("growth")
    incident = open_incident()
    _commit(incident, -11, "a", ["app/db/session.py"])
    _commit(incident, -9, "b", ["app/feedback.py"])
    _commit(incident, -3, "c", ["checkout/query.py"])
    _commit(incident, 0.5, "d", ["README.md"])
    _commit(incident, 2, "e", ["models.py"])

    found = incident_commits(incident=incident)
    assert [(c.short_sha, c.minutes_before, c.touched_db) for c in found] == [
        ("ddddddd", -1, False), ("ccccccc", 3, True), ("bbbbbbb", 9, False)]


def test_commit_correlation_follows_the_plan(fakes):
    on_plan("starter")
    incident = open_incident()
    _commit(incident, -2, "f", ["app/models.py"])
    assert incident_commits(incident=incident) == []


@pytest.mark.parametrize(
    ("path", "touches_db"),
    [
        ("app/feedback.py", False), ("dashboard/views.py", False), ("feedback/db_helpers.py", True),
        ("app/db/session.py", True), ("db.py", True), ("migrations/0002_add_index.py", True),
        ("schema.sql", True), ("reports/monthly.SQL", True), ("checkout/query.py", True),
        ("src/user_repository.py", True), ("orders/models.py", True), ("README.md", False),
        ("sqlalchemy_docs.md", False), ("frontend/modelsview.tsx", False),
    ],
)
def test_database_code_is_recognised_by_whole_segments_and_extensions(path, touches_db):
    assert path_touches_db(path) is touches_db


def test_a_tenant_may_replace_the_path_rules(fakes):
    on_plan("growth")
    CommitSource.objects.create(webhook_secret=SECRET, db_path_rules="persistence\n*.prisma\n")
    incident = open_incident()
    _commit(incident, -2, "1", ["app/persistence/store.py"])
    _commit(incident, -3, "2", ["app/models.py"])
    _commit(incident, -4, "3", ["schema.prisma"])
    assert [c.touched_db for c in incident_commits(incident=incident)] == [True, False, True]


def test_the_incident_page_lists_recent_deployments_and_flags_database_changes(client, in_tenant, settings, fakes):
    on_plan("growth")
    incident = open_incident()
    commit = _commit(incident, -3, "9", ["checkout/repository/orders.py"])
    commit.additions, commit.deletions = 12, 3
    commit.save()
    get_user_model().objects.create_superuser("ops", "ops@acme.test", "a-long-password-1")
    client.defaults["HTTP_HOST"] = f"{in_tenant.schema_name}.{settings.ALERTENGINE_BASE_DOMAIN}"
    client.post("/admin/login/", {"username": "ops", "password": "a-long-password-1"})

    page = client.get(f"/admin/incidents/incident/{incident.id}/change/").content.decode()
    assert "Recent deployments" in page
    assert "3 min before opening" in page and "9999999" in page and "+12/-3" in page
    assert "this commit touched database/query files" in page


def test_the_alert_carries_the_diagnosis_and_the_flagged_commit(fakes):
    from incidents.alerts import incident_message
    from incidents.services import incident_propose

    on_plan("growth")
    incident = open_incident()
    Commit.objects.create(sha="a1b2c3d" + "0" * 33, repository="acme/checkout", branch="main",
                          message="Fix checkout query isolation level", author="John",
                          committed_at=incident.opened_at, additions=12, deletions=3,
                          pushed_at=incident.opened_at - dt.timedelta(minutes=3),
                          files_modified=["checkout/repository/orders.py"])
    incident = incident_propose(incident_id=incident.id)

    sections = {s.heading: s.body for s in incident_message(incident, kind="opened").sections}
    assert sections["Likely cause"].startswith("Database connection pool exhausted")
    assert '3 minutes ago - a1b2c3d\n"Fix checkout query isolation level" (John, +12/-3)' in sections[
        "Recent deployment"]
    assert "This commit touched database/query files" in sections["Recent deployment"]
    assert sections["Confidence"] == "87%"
