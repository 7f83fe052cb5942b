"""The database models."""
from casetrack.models.attachments import STAGES, Attachment, AttachmentBlob, IdempotentRequest
from casetrack.models.cases import CASE_KINDS, CASE_SOURCES, Case, CaseAssist, CaseEvent
from casetrack.models.deadlines import DayOff, Extension, Notification, SupervisionNote
from casetrack.models.org import ROLE_UNIT_KINDS, ApiToken, Category, LoginFailure, Unit, User
from casetrack.models.petitions import PETITION_FORMS, Petition, TakeDown
from casetrack.models.reference import ReferenceVersion
from casetrack.models.reports import BULLETIN_TYPES, Bulletin, BulletinSetting, DailyFigure
from casetrack.models.visits import TARGET_KINDS, Milestone, Target, Visit, visit_cadres
from casetrack.models.webhooks import Webhook, WebhookDelivery

__all__ = ["BULLETIN_TYPES", "BulletinSetting", "CASE_KINDS", "CASE_SOURCES", "PETITION_FORMS", "Petition", "TakeDown", "STAGES", "Attachment", "AttachmentBlob", "IdempotentRequest", "ROLE_UNIT_KINDS", "TARGET_KINDS", "ApiToken", "Bulletin", "Case", "CaseAssist", "CaseEvent",
           "Category", "DailyFigure", "DayOff", "Extension", "LoginFailure", "Milestone", "Notification",
           "ReferenceVersion", "SupervisionNote", "Target", "Unit", "User", "Visit", "visit_cadres", "Webhook",
           "WebhookDelivery"]
