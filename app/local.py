"""Local run: the API and the worker services in one process (``scripts/run-local.sh``).

A convenience for development on embedded defaults; deployments run each process on its own.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import uvicorn

from app.db.migrate import upgrade_async
from app.main import create_app
from app.observability.logs import configure as configure_logs
from app.settings import ApiSettings, load


async def serve(host: str, port: int) -> None:
    settings = load(ApiSettings)
    configure_logs(settings.log_level)
    if settings.database_url.startswith("sqlite"):
        Path(settings.database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    await upgrade_async(settings.database_url)
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_config=None)
    await uvicorn.Server(config).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
