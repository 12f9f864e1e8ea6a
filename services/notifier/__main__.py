"""``python -m services.notifier``: the notification service, until SIGTERM."""

from services.common import run
from services.notifier.worker import WORKER

if __name__ == "__main__":
    run(WORKER)
