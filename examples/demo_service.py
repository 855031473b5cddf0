"""The local demo's service: a FastAPI app instrumented with alertengine_sdk, with a real fault.

    uvicorn examples.demo_service:app --port 8100

- ``POST /fault/spike`` plays a bad deploy: it registers a commit with the local GitHub fake,
  sends the signed GitHub push webhook to the demo tenant (``DEMO_COMMITS_WEBHOOK_URL``, secret
  ``DEMO_GITHUB_SECRET``), then turns the fault on: from then on the app's own traffic (a
  background clients calling ``/checkout`` several times a second) is slow and a third of
  the requests fail.
- ``POST /recovery`` is the recovery webhook AlertEngine calls once an engineer approved
  ``restart_worker_pool``: it verifies the Standard Webhooks signature with
  ``DEMO_WEBHOOK_SECRET``, ignores a ``webhook-id`` it has already executed, turns the fault off
  and restarts the measurement window (as restarting the worker pool would).
- ``GET /fault`` shows the fault state and the recovery calls received.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, HTTPException, Request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from alertengine_sdk import AlertConfig, instrument

PORT = int(os.environ.get("DEMO_SERVICE_PORT", "8100"))
state = {"fault": False, "since": None, "recoveries": [], "executed_ids": set()}


TRAFFIC_CLIENTS = 4


async def _traffic() -> None:
    """Steady customer traffic from a few clients, so the health score reflects what the app does."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=10) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                await client.get("/checkout", params={"basket": random.randint(1, 500)})  # noqa: S311
            # A modest steady rate: the 60-second window then reflects a fault within seconds.
            await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(_traffic()) for _ in range(TRAFFIC_CLIENTS)]
    yield
    for task in tasks:
        task.cancel()


app = FastAPI(title="Checkout API (AlertEngine demo)", lifespan=lifespan)
engine = instrument(app, config=AlertConfig.from_env(service_name="checkout-api"))


@app.get("/checkout")
async def checkout(basket: int = 1) -> dict[str, object]:
    if state["fault"]:
        # The connection pool is exhausted: requests wait for a connection, and a third give up.
        await asyncio.sleep(random.uniform(3.6, 5.0))  # noqa: S311
        if random.random() < 0.35:  # noqa: S311
            raise HTTPException(status_code=503, detail="database connection pool exhausted")
    return {"basket": basket, "total": basket * 3}


async def _deploy_commit() -> str | None:
    """Register a commit with the GitHub fake and push it to the demo tenant, as GitHub would."""
    hook_url, secret = os.environ.get("DEMO_COMMITS_WEBHOOK_URL"), os.environ.get("DEMO_GITHUB_SECRET", "")
    fakes = os.environ.get("DEVFAKES_URL", "http://127.0.0.1:8025")
    if not hook_url or not secret:
        return None
    files = [{"filename": "checkout/db/query.py", "additions": 12, "deletions": 3}]
    async with httpx.AsyncClient(timeout=5) as client:
        registered = await client.post(f"{fakes}/_control/github/commits", json={
            "owner": "demo", "repo": "checkout-api", "message": "Fix checkout query isolation level",
            "files": files, "author_name": "John", "author_login": "john"})
        registered.raise_for_status()
        sha = registered.json()["sha"]
        push = {
            "ref": "refs/heads/main", "repository": {"full_name": "demo/checkout-api"}, "after": sha,
            "commits": [{"id": sha, "message": "Fix checkout query isolation level",
                         "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         "author": {"name": "John", "username": "john"}, "added": [], "removed": [],
                         "modified": [f["filename"] for f in files]}],
        }
        body = json.dumps(push).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        url = urlsplit(hook_url)
        await client.post(f"http://127.0.0.1:{url.port or 80}{url.path}", content=body, headers={
            "Host": url.netloc, "Content-Type": "application/json", "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature})
    return sha


@app.post("/fault/spike")
async def spike() -> dict[str, object]:
    try:
        sha = await _deploy_commit()
    except httpx.HTTPError:
        sha = None  # the fault is the point of the demo; the commit context is a bonus
    state["fault"], state["since"] = True, time.time()
    return {"fault": True, "deployed": sha}


@app.get("/fault")
async def fault() -> dict[str, object]:
    return {"fault": state["fault"], "since": state["since"], "recoveries": state["recoveries"]}


@app.post("/recovery")
async def recovery(request: Request) -> dict[str, object]:
    body = await request.body()
    secret = os.environ.get("DEMO_WEBHOOK_SECRET", "")
    try:
        payload = Webhook(secret).verify(body, dict(request.headers))
    except (WebhookVerificationError, ValueError) as exc:
        raise HTTPException(status_code=401, detail="signature does not verify") from exc
    webhook_id = request.headers.get("webhook-id", "")
    if webhook_id in state["executed_ids"]:
        return {"status": "already executed", "webhook_id": webhook_id}
    state["executed_ids"].add(webhook_id)
    state["fault"] = False
    engine.recorder.reset()
    engine.store.clear()
    state["recoveries"].append({"webhook_id": webhook_id, "at": time.time(), "action": payload.get("action")})
    return {"status": "worker pool restarted", "webhook_id": webhook_id}
