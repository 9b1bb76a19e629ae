"""Every UI page in one Router, with the dependencies its handlers name (app.dashboards.deps)."""

from __future__ import annotations

from litestar import Router

from app.dashboards.annotation_pages import ANNOTATION_ROUTES
from app.dashboards.auth_pages import AUTH_ROUTES
from app.dashboards.compare_pages import COMPARE_ROUTES
from app.dashboards.dashboard_pages import DASHBOARD_ROUTES
from app.dashboards.dataset_import_pages import DATASET_IMPORT_ROUTES
from app.dashboards.dataset_item_pages import DATASET_ITEM_ROUTES
from app.dashboards.dataset_pages import DATASET_ROUTES
from app.dashboards.deps import DEPENDENCIES
from app.dashboards.evaluator_pages import EVALUATOR_PAGE_ROUTES
from app.dashboards.execution_pages import EXECUTION_ROUTES
from app.dashboards.experiment_pages import EXPERIMENT_ROUTES
from app.dashboards.home_pages import HOME_ROUTES
from app.dashboards.invitation_pages import INVITATION_ROUTES
from app.dashboards.links import LINK_ROUTES
from app.dashboards.observation_pages import OBSERVATION_PAGE_ROUTES
from app.dashboards.playground_pages import PLAYGROUND_ROUTES
from app.dashboards.prompt_pages import PROMPT_PAGE_ROUTES
from app.dashboards.rule_pages import RULE_ROUTES
from app.dashboards.schedule_pages import SCHEDULE_ROUTES
from app.dashboards.score_pages import SCORE_ROUTES
from app.dashboards.session_pages import SESSION_ROUTES
from app.dashboards.settings_pages import SETTINGS_ROUTES
from app.dashboards.trace_pages import TRACE_ROUTES
from app.dashboards.user_pages import USER_ROUTES


def ui_router() -> Router:
    """The UI's routes at `/` (session cookie, CSRF-protected forms); no public API, so not in OpenAPI."""
    return Router(
        "/",
        include_in_schema=False,
        dependencies=DEPENDENCIES,
        route_handlers=[
            *AUTH_ROUTES,
            *HOME_ROUTES,
            *TRACE_ROUTES,
            *OBSERVATION_PAGE_ROUTES,
            *SESSION_ROUTES,
            *USER_ROUTES,
            *SCORE_ROUTES,
            *ANNOTATION_ROUTES,
            *EXECUTION_ROUTES,
            *SETTINGS_ROUTES,
            *DASHBOARD_ROUTES,
            *PLAYGROUND_ROUTES,
            *INVITATION_ROUTES,
            *PROMPT_PAGE_ROUTES,
            *LINK_ROUTES,
            *DATASET_ROUTES,
            *DATASET_ITEM_ROUTES,
            *DATASET_IMPORT_ROUTES,
            *EXPERIMENT_ROUTES,
            *COMPARE_ROUTES,
            *SCHEDULE_ROUTES,
            *EVALUATOR_PAGE_ROUTES,
            *RULE_ROUTES,
        ],
    )
