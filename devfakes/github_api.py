"""Fake of the GitHub REST API's commit endpoint, ``GET /repos/{owner}/{repo}/commits/{ref}``.

Commits are registered with :meth:`GitHubFake.add_commit` (or ``POST /_control/github/commits``);
the answer has GitHub's shape including ``stats`` (additions, deletions) and ``files``. A token is
optional, as for a public repository, but a wrong one is refused with ``Bad credentials``.
:func:`push_event` builds the matching ``push`` webhook payload for tests of the commit webhook.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from devfakes.wire import Fake, json_response

DOCS = "https://docs.github.com/rest/commits/commits#get-a-commit"
_FILE_STATUSES = ("added", "modified", "removed", "renamed")


def _error(status: int, message: str) -> Response:
    return json_response({"message": message, "documentation_url": DOCS, "status": str(status)}, status=status)


def _user(login: str | None) -> dict[str, Any] | None:
    if not login:
        return None
    return {
        "login": login,
        "id": int(hashlib.sha256(login.encode()).hexdigest()[:8], 16),
        "type": "User",
        "site_admin": False,
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "avatar_url": f"https://avatars.githubusercontent.com/{login}",
    }


class GitHubFake(Fake):
    """``/github/repos/{owner}/{repo}/commits/{ref}``."""

    name = "github"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._commits: dict[str, dict[str, dict[str, Any]]] = {}

    def reset(self) -> None:
        """Forget every registered commit."""
        with self.lock:
            self._commits.clear()

    def add_commit(
        self,
        owner: str,
        repo: str,
        *,
        message: str,
        files: list[dict[str, Any]],
        sha: str | None = None,
        author_name: str = "John",
        author_email: str = "john@example.com",
        author_login: str | None = "john",
        date: datetime | None = None,
    ) -> dict[str, Any]:
        """Register a commit; ``files`` items have ``filename`` and optionally ``additions``,
        ``deletions``, ``status`` (added, modified, removed, renamed). Returns GitHub's JSON for it.
        """
        sha = sha or secrets.token_hex(20)
        stamp = (date or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        base = f"https://api.github.com/repos/{owner}/{repo}"
        changed = []
        for item in files:
            status = item.get("status", "modified")
            if status not in _FILE_STATUSES:
                raise ValueError(f"file status must be one of {_FILE_STATUSES}")
            additions, deletions = int(item.get("additions", 0)), int(item.get("deletions", 0))
            filename = str(item["filename"])
            changed.append(
                {
                    "sha": hashlib.sha1(f"{sha}{filename}".encode(), usedforsecurity=False).hexdigest(),
                    "filename": filename,
                    "status": status,
                    "additions": additions,
                    "deletions": deletions,
                    "changes": additions + deletions,
                    "blob_url": f"https://github.com/{owner}/{repo}/blob/{sha}/{filename}",
                    "raw_url": f"https://github.com/{owner}/{repo}/raw/{sha}/{filename}",
                    "contents_url": f"{base}/contents/{filename}?ref={sha}",
                    "patch": item.get("patch", f"@@ -1,{deletions} +1,{additions} @@"),
                }
            )
        tree = hashlib.sha1(sha.encode(), usedforsecurity=False).hexdigest()
        signature = {"name": author_name, "email": author_email, "date": stamp}
        commit = {
            "sha": sha,
            "node_id": f"C_{sha[:20]}",
            "commit": {
                "author": signature,
                "committer": signature,
                "message": message,
                "tree": {"sha": tree, "url": f"{base}/git/trees/{tree}"},
                "url": f"{base}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
            },
            "url": f"{base}/commits/{sha}",
            "html_url": f"https://github.com/{owner}/{repo}/commit/{sha}",
            "comments_url": f"{base}/commits/{sha}/comments",
            "author": _user(author_login),
            "committer": _user(author_login),
            "parents": [],
            "stats": {
                "total": sum(f["changes"] for f in changed),
                "additions": sum(f["additions"] for f in changed),
                "deletions": sum(f["deletions"] for f in changed),
            },
            "files": changed,
        }
        with self.lock:
            self._commits.setdefault(f"{owner}/{repo}".lower(), {})[sha] = commit
        return commit

    def control(self, request: Request, subpath: str, body: Any) -> Response:
        """``POST /_control/github/commits`` with ``owner``, ``repo`` and :meth:`add_commit`'s fields."""
        if subpath != "commits" or request.method != "POST" or not isinstance(body, dict):
            return super().control(request, subpath, body)
        try:
            owner, repo = str(body.pop("owner")), str(body.pop("repo"))
            return json_response(self.add_commit(owner, repo, **body), status=201)
        except (KeyError, TypeError, ValueError) as exc:
            return json_response({"error": f"invalid commit: {exc}"}, status=400)

    def handle(self, request: Request, subpath: str, body: Any) -> Response:
        """Answer a commit fetch."""
        authorization = request.headers.get("Authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() not in ("bearer", "token") or not secrets.compare_digest(token, self.config.github_token):
                return _error(401, "Bad credentials")
        parts = subpath.split("/")
        if request.method != "GET" or len(parts) != 5 or parts[0] != "repos" or parts[3] != "commits":
            return _error(404, "Not Found")
        owner, repo, ref = parts[1], parts[2], parts[4]
        with self.lock:
            commits = self._commits.get(f"{owner}/{repo}".lower())
            if commits is None:
                return _error(404, "Not Found")
            found = [c for sha, c in commits.items() if len(ref) >= 4 and sha.startswith(ref.lower())]
        if len(found) != 1:
            return _error(422, f"No commit found for SHA: {ref}")
        return json_response(found[0], headers={"X-GitHub-Media-Type": "github.v3; format=json"})


def push_event(owner: str, repo: str, commits: list[dict[str, Any]], *, branch: str = "main") -> dict[str, Any]:
    """GitHub's ``push`` webhook payload for commits in :meth:`GitHubFake.add_commit`'s format."""
    entries = []
    for commit in commits:
        files = commit["files"]
        author = commit["commit"]["author"]
        entries.append(
            {
                "id": commit["sha"],
                "tree_id": commit["commit"]["tree"]["sha"],
                "distinct": True,
                "message": commit["commit"]["message"],
                "timestamp": author["date"],
                "url": commit["html_url"],
                "author": {**author, "username": (commit["author"] or {}).get("login")},
                "committer": {**author, "username": (commit["author"] or {}).get("login")},
                "added": [f["filename"] for f in files if f["status"] == "added"],
                "removed": [f["filename"] for f in files if f["status"] == "removed"],
                "modified": [f["filename"] for f in files if f["status"] in ("modified", "renamed")],
            }
        )
    head = entries[-1] if entries else None
    pusher = head["author"] if head else {"name": owner, "email": None, "username": owner}
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": head["id"] if head else "0" * 40,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{owner}/{repo}/compare/{branch}",
        "commits": entries,
        "head_commit": head,
        "repository": {
            "id": int(hashlib.sha256(f"{owner}/{repo}".encode()).hexdigest()[:8], 16),
            "name": repo,
            "full_name": f"{owner}/{repo}",
            "private": False,
            "owner": {"name": owner, "login": owner},
            "html_url": f"https://github.com/{owner}/{repo}",
            "default_branch": branch,
        },
        "pusher": {"name": pusher["name"], "email": pusher["email"]},
        "sender": {"login": pusher["username"] or owner, "type": "User"},
    }
