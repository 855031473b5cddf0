"""Diff-in-Pocket: commits pushed around the time an incident opened, and what they touched.

Commits arrive through the GitHub push webhook (:mod:`incidents.github`). An incident's commits
are those pushed from ``COMMIT_WINDOW_BEFORE_MIN`` minutes before it opened to
``COMMIT_WINDOW_AFTER_MIN`` after, newest first. The push time is used rather than the commit's
own timestamp, which the author controls and which a rebase or cherry-pick leaves days old: the
push is what reached production. A commit is flagged as touching database or query code by path
rules that match whole path segments (or words of them) and extensions, so ``feedback.py`` is
not ``db``; a tenant may replace the rules.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from incidents.models import Commit, CommitSource, GitHubDelivery
from saas.outbound import outbound_session, read_capped

logger = logging.getLogger(__name__)

#: Folder or file names (or words of them) that mean database or query code.
DEFAULT_DB_RULES = (
    "migrations", "migration", "alembic", "models", "model", "db", "database", "sql", "query", "queries",
    "repository", "repositories", "repo", "dao", "schema", "orm", "*.sql",
)
MAX_COMMITS_PER_PUSH = 100
_WORDS = re.compile(r"[_\-.]+")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")


@dataclass(frozen=True)
class CommitSummary:
    """One commit near an incident's opening, as the alert and the incident page render it."""

    sha: str
    short_sha: str
    message: str
    author: str
    committed_at: dt.datetime
    additions: int | None
    deletions: int | None
    touched_db: bool
    minutes_before: int  # negative when the push came after the incident opened
    repository: str = ""
    files: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        """The first line of the message."""
        return self.message.splitlines()[0] if self.message else ""


# ---------------------------------------------------------------- path rules


def db_rules(source: CommitSource | None) -> tuple[str, ...]:
    """The tenant's rules, one per line, or the defaults when it has none."""
    custom = [line.strip().lower() for line in (source.db_path_rules if source else "").splitlines()]
    custom = [rule for rule in custom if rule and not rule.startswith("#")]
    return tuple(custom) or DEFAULT_DB_RULES


def path_touches_db(path: str, rules: Iterable[str] = DEFAULT_DB_RULES) -> bool:
    """Whether ``path`` matches a rule: ``*.ext`` by extension, a name by whole segment or word.

    ``app/db/session.py``, ``db.py``, ``user_repository.py`` and ``schema.sql`` match;
    ``feedback.py`` and ``dashboard/`` do not, because ``db`` is never matched inside a word.
    """
    lowered = path.strip().lower().replace("\\", "/")
    segments = [s for s in lowered.split("/") if s]
    if not segments:
        return False
    stem = segments[-1].rsplit(".", 1)[0] if "." in segments[-1] else segments[-1]
    names = set(segments[:-1]) | {stem}
    words = {w for name in names for w in _WORDS.split(name) if w}
    for rule in rules:
        if rule.startswith("*."):
            if lowered.endswith(rule[1:]):
                return True
        elif rule.strip("/") in names or rule.strip("/") in words:
            return True
    return False


# ---------------------------------------------------------------- correlation


def incident_commits(*, incident) -> list[CommitSummary]:
    """Commits pushed in the correlation window around ``incident.opened_at``, newest first.

    Empty when the tenant's plan does not include commit correlation (Growth and above do).
    """
    from billing.selectors import entitlements
    from incidents.services import _current_tenant

    if not entitlements(tenant=_current_tenant()).allows("commit_correlation"):
        return []
    opened = incident.opened_at
    start = opened - dt.timedelta(minutes=settings.COMMIT_WINDOW_BEFORE_MIN)
    end = opened + dt.timedelta(minutes=settings.COMMIT_WINDOW_AFTER_MIN)
    rules = db_rules(CommitSource.objects.first())
    commits = Commit.objects.filter(pushed_at__gte=start, pushed_at__lte=end).order_by("-pushed_at", "-committed_at")
    return [
        CommitSummary(
            sha=c.sha, short_sha=c.sha[:7], message=c.message, author=c.author, committed_at=c.committed_at,
            additions=c.additions, deletions=c.deletions, touched_db=any(path_touches_db(f, rules) for f in c.files),
            minutes_before=int((opened - c.pushed_at).total_seconds() // 60), repository=c.repository,
            files=tuple(c.files),
        )
        for c in commits[:20]
    ]


# ---------------------------------------------------------------- push ingestion


class PushPayloadError(ValueError):
    """The push payload is not shaped like GitHub's."""


class DuplicateDeliveryError(Exception):
    """This ``X-GitHub-Delivery`` was already accepted."""


def push_receive(*, delivery_id: str, event: str, payload: Any, now: dt.datetime | None = None) -> list[Commit]:
    """Record one signed delivery and, for a branch push, its commits; a delivery id is accepted once."""
    now = now or timezone.now()
    commits = _push_commits(payload, now=now) if event == "push" else []
    try:
        with transaction.atomic():
            GitHubDelivery.objects.create(delivery_id=delivery_id, event=event[:40])
            stored = []
            for commit in commits:
                obj, created = Commit.objects.get_or_create(repository=commit.repository, sha=commit.sha,
                                                            defaults=_fields(commit))
                if created:
                    stored.append(obj)
    except IntegrityError:
        raise DuplicateDeliveryError(delivery_id) from None
    return stored


def _fields(commit: Commit) -> dict[str, Any]:
    return {f: getattr(commit, f) for f in ("branch", "message", "author", "committed_at", "pushed_at",
                                            "files_added", "files_modified", "files_removed")}


def _push_commits(payload: Any, *, now: dt.datetime) -> list[Commit]:
    if not isinstance(payload, dict):
        raise PushPayloadError("the payload is not a JSON object")
    ref = payload.get("ref")
    repository = (payload.get("repository") or {}).get("full_name") if isinstance(payload.get("repository"),
                                                                                 dict) else None
    if not isinstance(ref, str) or not isinstance(repository, str) or not _REPOSITORY.fullmatch(repository) \
            or any(part in (".", "..") for part in repository.split("/")):
        raise PushPayloadError("ref and repository.full_name (owner/name) are required")
    if not ref.startswith("refs/heads/"):
        return []  # a tag push deploys nothing new
    entries = payload.get("commits") or []
    if not isinstance(entries, list):
        raise PushPayloadError("commits must be a list")
    branch = ref.removeprefix("refs/heads/")[:200]
    return [_commit(entry, repository=repository[:200], branch=branch, now=now)
            for entry in entries[:MAX_COMMITS_PER_PUSH]]


def _commit(entry: Any, *, repository: str, branch: str, now: dt.datetime) -> Commit:
    if not isinstance(entry, dict):
        raise PushPayloadError("each commit must be an object")
    sha = entry.get("id")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-fA-F]{7,40}", sha):
        raise PushPayloadError("a commit id is not a SHA")
    author = entry.get("author") if isinstance(entry.get("author"), dict) else {}
    stamp = parse_datetime(entry["timestamp"]) if isinstance(entry.get("timestamp"), str) else None
    return Commit(
        sha=sha.lower(), repository=repository, branch=branch, message=str(entry.get("message") or "")[:5000],
        author=str(author.get("name") or author.get("username") or "")[:200], committed_at=stamp or now,
        pushed_at=now, files_added=_paths(entry.get("added")), files_modified=_paths(entry.get("modified")),
        files_removed=_paths(entry.get("removed")),
    )


def _paths(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v)[:500] for v in value if isinstance(v, str)][:300]


# ---------------------------------------------------------------- GitHub API: additions and deletions


def commit_stats_fetch(*, commit_ids: list[int]) -> int:
    """Fill additions/deletions of commits from the GitHub API with the tenant's token; returns how many.

    Best effort: a commit GitHub does not answer for keeps ``None`` and the alert omits the figures.
    """
    source = CommitSource.objects.first()
    session = outbound_session(timeout=(3.05, 10))
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if source and source.github_token:
        headers["Authorization"] = f"Bearer {source.github_token}"
    filled = 0
    for commit in Commit.objects.filter(pk__in=commit_ids, additions__isnull=True):
        url = f"{settings.GITHUB_API_URL.rstrip('/')}/repos/{commit.repository}/commits/{commit.sha}"
        try:
            response = session.get(url, headers=headers, stream=True)
            body = read_capped(response, max_bytes=2_000_000)
        except requests.RequestException as exc:
            logger.warning("GitHub commit %s of %s not fetched: %s", commit.sha[:7], commit.repository,
                           type(exc).__name__)
            continue
        if response.status_code != 200:
            logger.warning("GitHub answered %s for commit %s of %s", response.status_code, commit.sha[:7],
                           commit.repository)
            continue
        try:
            stats = json.loads(body).get("stats") or {}
            commit.additions, commit.deletions = int(stats["additions"]), int(stats["deletions"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        commit.save(update_fields=["additions", "deletions"])
        filled += 1
    return filled
