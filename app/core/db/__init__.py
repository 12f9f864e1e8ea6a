"""The database layer. Importing it registers every table on ``Base.metadata``.

The event backbone's tables live in their own module; importing it here means whoever loads the
models (the API, the workers, Alembic, the schema parity test) sees the complete schema.
"""

from app.core.db import auth_models as auth_models
from app.core.db import event_models as event_models
from app.core.db import notification_models as notification_models
