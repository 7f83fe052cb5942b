"""The database models."""
from casetrack.models.cases import CASE_KINDS, Case, CaseAssist, CaseEvent
from casetrack.models.deadlines import DayOff, Extension, Notification, SupervisionNote
from casetrack.models.org import ROLE_UNIT_KINDS, ApiToken, Category, LoginFailure, Unit, User
from casetrack.models.reference import ReferenceVersion
from casetrack.models.reports import Bulletin, DailyFigure
from casetrack.models.visits import TARGET_KINDS, Milestone, Target, Visit, visit_cadres
from casetrack.models.webhooks import Webhook, WebhookDelivery

__all__ = ["CASE_KINDS", "ROLE_UNIT_KINDS", "TARGET_KINDS", "ApiToken", "Bulletin", "Case", "CaseAssist", "CaseEvent",
           "Category", "DailyFigure", "DayOff", "Extension", "LoginFailure", "Milestone", "Notification",
           "ReferenceVersion", "SupervisionNote", "Target", "Unit", "User", "Visit", "visit_cadres", "Webhook",
           "WebhookDelivery"]
