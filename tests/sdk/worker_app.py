"""App served by real uvicorn processes in the multi-worker tests (configured by env)."""

from fastapi import FastAPI

from alertengine_sdk import instrument

app = FastAPI()


@app.get("/orders/{order_id}")
async def order(order_id: int) -> dict[str, int]:
    return {"id": order_id}


@app.get("/broken")
async def broken() -> dict[str, str]:
    raise RuntimeError("down")


engine = instrument(app)
