"""``python -m services.audit``: the audit consumer process."""

from services.audit.worker import WORKER
from services.common.process import run

if __name__ == "__main__":
    run(WORKER)
