"""Every model, imported once so that metadata and migrations see all tables."""

from challenge.accounts.models import ApiToken, OneTimeLink, User
from challenge.competitions.models import Competition, CompetitionStaff, Phase
from challenge.judging.models import Annotation, AuditEvent, Reproduction, ReproductionResult
from challenge.notifications.models import EmailOptOut, Notification
from challenge.submissions.models import ScoreRecord, Submission
from challenge.teams.models import Team, TeamMember
from leaderboards.models import LeaderboardEntry, LeaderboardSnapshot, ScoreHistory
from mlfo.worker.presence import WorkerHeartbeat

__all__ = [
    "Annotation",
    "ApiToken",
    "AuditEvent",
    "Competition",
    "CompetitionStaff",
    "EmailOptOut",
    "LeaderboardEntry",
    "LeaderboardSnapshot",
    "Notification",
    "OneTimeLink",
    "Phase",
    "Reproduction",
    "ReproductionResult",
    "ScoreHistory",
    "ScoreRecord",
    "Submission",
    "Team",
    "TeamMember",
    "User",
    "WorkerHeartbeat",
]
