"""Routes under /api/public that write observability data: OTLP, the batch API, scores, media.

May import app.settings, errors, http_json, storage, auth, tracing, jobs.contracts; no other transport.
"""

from app.ingest.batch import BATCH_ROUTES
from app.ingest.media import MEDIA_ROUTES
from app.ingest.otlp import OTLP_ROUTES
from app.ingest.scores import SCORE_ROUTES

INGEST_ROUTES = [*OTLP_ROUTES, *BATCH_ROUTES, *SCORE_ROUTES, *MEDIA_ROUTES]
