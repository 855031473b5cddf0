"""Quickstart: an instrumented FastAPI app with the demo traffic endpoints turned on.

    uvicorn examples.quickstart_example:app
    curl -X POST localhost:8000/simulate/spike
    curl -s localhost:8000/health/alerts | python3 -m json.tool

Set ALERTENGINE_REDIS_URL to share measurements between workers. The demo endpoints are
enabled here in code because this is a demo; ``ALERTENGINE_ENV=production`` refuses them.
"""

from fastapi import FastAPI

from alertengine_sdk import AlertConfig, instrument

app = FastAPI(title="AlertEngine quickstart")


@app.get("/")
async def index() -> dict[str, str]:
    """A trivial route so real requests are measured next to the simulated ones."""
    return {"hello": "world"}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    """A templated route: measured as ``/items/{item_id}``."""
    return {"item_id": item_id}


engine = instrument(app, config=AlertConfig.from_env(service_name="quickstart", demo=True))
