"""``python -m services.recurring``: the recurring task service, until SIGTERM."""

from services.common import run
from services.recurring.worker import WORKER

if __name__ == "__main__":
    run(WORKER)
