"""The database models."""
from casetrack.models.cases import CASE_KINDS, Case, CaseEvent
from casetrack.models.deadlines import DayOff, Extension, Notification, SupervisionNote
from casetrack.models.ledger import ANSWERS, ContactPoint, Suggestion
from casetrack.models.org import POSTS, PRINCIPAL_POSTS, ROLE_UNIT_KINDS, ApiToken, Category, LoginFailure, Unit, User
from casetrack.models.reference import ReferenceVersion
from casetrack.models.reports import Bulletin, DailyFigure
from casetrack.models.visits import (REGISTERED_KINDS, TARGET_KINDS, VISIT_FORMS, Milestone, Target, Visit, visit_cadres,
                                     visit_targets)
from casetrack.models.webhooks import Webhook, WebhookDelivery

__all__ = ["ANSWERS", "CASE_KINDS", "POSTS", "PRINCIPAL_POSTS", "REGISTERED_KINDS", "ROLE_UNIT_KINDS", "TARGET_KINDS", "VISIT_FORMS",
           "ApiToken", "Bulletin", "Case", "CaseEvent", "Category", "ContactPoint", "DailyFigure", "DayOff",
           "Extension", "LoginFailure", "Milestone", "Notification", "ReferenceVersion", "Suggestion",
           "SupervisionNote", "Target", "Unit", "User", "Visit", "visit_cadres", "visit_targets", "Webhook",
           "WebhookDelivery"]
