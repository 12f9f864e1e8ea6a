"""``python -m services.relay``: the outbox relay process."""

from services.common.process import run
from services.relay.worker import WORKER

if __name__ == "__main__":
    run(WORKER)
