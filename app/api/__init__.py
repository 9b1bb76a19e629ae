"""Routes under /api/public but those that write observability data (app.ingest): reads and management.

May import app.settings, errors, http_json, storage, auth, tracing, prompts, evaluation, playground; no other
transport.
"""

from app.api.annotation_queues import ANNOTATION_QUEUE_ROUTES
from app.api.comments import COMMENT_ROUTES
from app.api.dataset_runs import DATASET_RUN_ROUTES
from app.api.datasets import DATASET_ROUTES
from app.api.evaluation_executions import EVALUATION_EXECUTION_ROUTES
from app.api.evaluation_rules import EVALUATION_RULE_ROUTES
from app.api.evaluation_schedules import EVALUATION_SCHEDULE_ROUTES
from app.api.evaluators import EVALUATOR_ROUTES
from app.api.experiments import EXPERIMENT_ROUTES
from app.api.health import HEALTH_ROUTES
from app.api.llm_connections import LLM_CONNECTION_ROUTES
from app.api.metrics import METRICS_ROUTES
from app.api.models import MODEL_ROUTES
from app.api.observations import OBSERVATION_ROUTES
from app.api.openapi import OPENAPI_ROUTES
from app.api.projects import PROJECT_ROUTES
from app.api.prompts import PROMPT_ROUTES
from app.api.score_configs import SCORE_CONFIG_ROUTES
from app.api.scores import SCORE_ROUTES
from app.api.sessions import SESSION_ROUTES
from app.api.traces import TRACE_ROUTES

API_ROUTES = [
    *HEALTH_ROUTES,
    *PROJECT_ROUTES,
    *OPENAPI_ROUTES,
    *MODEL_ROUTES,
    *SCORE_CONFIG_ROUTES,
    *ANNOTATION_QUEUE_ROUTES,
    *TRACE_ROUTES,
    *OBSERVATION_ROUTES,
    *SESSION_ROUTES,
    *SCORE_ROUTES,
    *METRICS_ROUTES,
    *COMMENT_ROUTES,
    *PROMPT_ROUTES,
    *EXPERIMENT_ROUTES,
    *DATASET_ROUTES,
    *DATASET_RUN_ROUTES,
    *EVALUATION_RULE_ROUTES,
    *EVALUATION_EXECUTION_ROUTES,
    *LLM_CONNECTION_ROUTES,
    *EVALUATOR_ROUTES,
    *EVALUATION_SCHEDULE_ROUTES,
]
