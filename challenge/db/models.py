"""Every model, imported once so that metadata and migrations see all tables."""

from challenge.accounts.models import ApiToken, OneTimeLink, User
from challenge.challenges.models import (
    Admission,
    Announcement,
    Award,
    Certificate,
    Challenge,
    ChallengeProblem,
    Conditions,
    Event,
    Finalist,
    FinalScore,
    JuryMember,
    MarketModel,
    Organisation,
    OrganisationMember,
    Registration,
    Rubric,
    RubricJudge,
    RubricScore,
    TeamReport,
)
from challenge.competitions.models import Competition, CompetitionStaff, Phase
from challenge.judging.models import Annotation, AuditEvent, Reproduction, ReproductionResult
from challenge.notifications.models import EmailOptOut, Notification
from challenge.submissions.models import ScoreRecord, Submission
from challenge.teams.models import Team, TeamMember
from leaderboards.models import LeaderboardEntry, LeaderboardSnapshot, ScoreHistory
from mlfo.worker.presence import WorkerHeartbeat

__all__ = [
    "Admission",
    "Annotation",
    "Announcement",
    "ApiToken",
    "AuditEvent",
    "Award",
    "Certificate",
    "Challenge",
    "ChallengeProblem",
    "Competition",
    "CompetitionStaff",
    "Conditions",
    "EmailOptOut",
    "Event",
    "FinalScore",
    "Finalist",
    "JuryMember",
    "LeaderboardEntry",
    "LeaderboardSnapshot",
    "MarketModel",
    "Notification",
    "OneTimeLink",
    "Organisation",
    "OrganisationMember",
    "Phase",
    "Registration",
    "Reproduction",
    "ReproductionResult",
    "Rubric",
    "RubricJudge",
    "RubricScore",
    "ScoreHistory",
    "ScoreRecord",
    "Submission",
    "Team",
    "TeamMember",
    "TeamReport",
    "User",
    "WorkerHeartbeat",
]
