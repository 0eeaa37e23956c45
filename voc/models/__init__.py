"""All voc models; importing this package registers every table on ``Base.metadata``."""

from voc.models import (  # noqa: F401  (import for side effect: table registration)
    alerts,
    compliance,
    feedback,
    insights,
    runs,
    sentiment,
    topic_history,
    topics,
    users,
    web,
)
from voc.models.base import Base
from voc.models.feedback import Feedback, FeedbackEmbedding, Quarantine, Source
from voc.models.runs import PipelineRun
from voc.models.topics import Topic
from voc.models.users import AuditLog, User

__all__ = [
    "AuditLog",
    "Base",
    "Feedback",
    "FeedbackEmbedding",
    "PipelineRun",
    "Quarantine",
    "Source",
    "Topic",
    "User",
]
