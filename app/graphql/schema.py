"""build_schema(): the Query and Mutation roots assembled from the per-noun mixins, and the limits and
error masking every request runs under."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from app.errors import StoreUnavailable, UserError
from app.graphql.cost import QueryCostLimiter
from app.graphql.mutations.annotation_queue import AnnotationQueueMutationMixin
from app.graphql.mutations.api_key import ApiKeyMutationMixin
from app.graphql.mutations.comment import CommentMutationMixin
from app.graphql.mutations.dataset import DatasetMutationMixin
from app.graphql.mutations.evaluation_executions import EvaluationExecutionMutationMixin
from app.graphql.mutations.evaluation_rules import EvaluationRuleMutationMixin
from app.graphql.mutations.evaluation_schedule import EvaluationScheduleMutationMixin
from app.graphql.mutations.evaluators import EvaluatorMutationMixin
from app.graphql.mutations.experiment import ExperimentMutationMixin
from app.graphql.mutations.llm_connection import LlmConnectionMutationMixin
from app.graphql.mutations.prompt import PromptMutationMixin
from app.graphql.mutations.score import ScoreMutationMixin
from app.graphql.mutations.score_config import ScoreConfigMutationMixin
from app.graphql.mutations.trace import TraceMutationMixin
from app.graphql.queries.annotation_queue import AnnotationQueueQueryMixin
from app.graphql.queries.api_key import ApiKeyQueryMixin
from app.graphql.queries.dataset import DatasetQueryMixin
from app.graphql.queries.evaluation_executions import EvaluationExecutionQueryMixin
from app.graphql.queries.evaluation_rules import EvaluationRuleQueryMixin
from app.graphql.queries.evaluation_schedule import EvaluationScheduleQueryMixin
from app.graphql.queries.evaluators import EvaluatorQueryMixin
from app.graphql.queries.experiment import ExperimentQueryMixin
from app.graphql.queries.llm_connection import LlmConnectionQueryMixin
from app.graphql.queries.metrics import MetricsQueryMixin
from app.graphql.queries.observation import ObservationQueryMixin
from app.graphql.queries.project import ProjectQueryMixin
from app.graphql.queries.prompt import PromptQueryMixin
from app.graphql.queries.score import ScoreQueryMixin
from app.graphql.queries.score_analytics import ScoreAnalyticsQueryMixin
from app.graphql.queries.score_config import ScoreConfigQueryMixin
from app.graphql.queries.session import SessionQueryMixin
from app.graphql.queries.trace import TraceQueryMixin
from app.graphql.queries.user import UserQueryMixin
from app.storage import unavailable_store

log = logging.getLogger(__name__)
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000


@strawberry.type(description="Read the caller's project.")
class Query(
    TraceQueryMixin,
    ObservationQueryMixin,
    SessionQueryMixin,
    UserQueryMixin,
    ScoreQueryMixin,
    ScoreAnalyticsQueryMixin,
    ScoreConfigQueryMixin,
    MetricsQueryMixin,
    PromptQueryMixin,
    ProjectQueryMixin,
    ApiKeyQueryMixin,
    LlmConnectionQueryMixin,
    DatasetQueryMixin,
    ExperimentQueryMixin,
    EvaluationExecutionQueryMixin,
    EvaluatorQueryMixin,
    EvaluationRuleQueryMixin,
    EvaluationScheduleQueryMixin,
    AnnotationQueueQueryMixin,
):
    pass


@strawberry.type(description="Change the caller's project.")
class Mutation(
    ScoreMutationMixin,
    ScoreConfigMutationMixin,
    TraceMutationMixin,
    CommentMutationMixin,
    PromptMutationMixin,
    ApiKeyMutationMixin,
    LlmConnectionMutationMixin,
    DatasetMutationMixin,
    ExperimentMutationMixin,
    EvaluationExecutionMutationMixin,
    EvaluatorMutationMixin,
    EvaluationRuleMutationMixin,
    EvaluationScheduleMutationMixin,
    AnnotationQueueMutationMixin,
):
    pass


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, UserError):
        return False  # GraphQL validation errors and our user errors are safe to show
    if (store := unavailable_store(original)) is not None:
        error.original_error = StoreUnavailable(store)  # the controller answers 503 (app.graphql.app)
        error.message = str(error.original_error)
        error.extensions = {"code": StoreUnavailable.code}
        return False
    error_id = uuid.uuid4().hex[:12]
    log.error("graphql internal error %s", error_id, exc_info=original)
    error.extensions = {**(error.extensions or {}), "errorId": error_id}
    return True


class _MaskInternalErrors(MaskErrors):
    """Mask everything but user errors to 'internal error' plus an id that is logged with the traceback."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "internal_error", "errorId": (error.extensions or {}).get("errorId")}
        return masked


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log nothing here: internal errors are logged once, with their id, when they are masked."""


def build_schema() -> strawberry.Schema:
    """The schema with depth, alias and token limits and error masking."""
    return _Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            QueryCostLimiter,
            lambda: _MaskInternalErrors(should_mask_error=_should_mask, error_message="internal error"),
        ],
    )
