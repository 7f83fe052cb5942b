"""The database models."""
from casetrack.models.attachments import STAGES, Attachment, AttachmentBlob, IdempotentRequest
from casetrack.models.cases import CASE_KINDS, CASE_SOURCES, Case, CaseAssist, CaseEvent
from casetrack.models.feedback import FEEDBACK_STATUSES, DailyFeedback
from casetrack.models.deadlines import DayOff, Extension, Notification, SupervisionNote
from casetrack.models.ledger import ANSWERS, ContactPoint, Suggestion
from casetrack.models.mail import OutgoingMail
from casetrack.models.org import POSTS, PRINCIPAL_POSTS, ROLE_UNIT_KINDS, ApiToken, Category, LoginFailure, Unit, User
from casetrack.models.petitions import PETITION_FORMS, Petition, TakeDown
from casetrack.models.reference import ReferenceVersion
from casetrack.models.reports import BULLETIN_TYPES, Bulletin, BulletinSetting, DailyFigure
from casetrack.models.visits import (REGISTERED_KINDS, SITE_KINDS, TARGET_KINDS, VISIT_FORMS, VISIT_KINDS,
                                     VISIT_TARGET_KINDS, CampaignPair, CampaignUnit, Milestone, SiteInspection,
                                     Target, Visit, visit_cadres, visit_targets)
from casetrack.models.webhooks import Webhook, WebhookDelivery

__all__ = ["ANSWERS", "BULLETIN_TYPES", "CASE_KINDS", "CASE_SOURCES", "PETITION_FORMS", "POSTS", "PRINCIPAL_POSTS",
           "REGISTERED_KINDS", "ROLE_UNIT_KINDS", "SITE_KINDS", "STAGES", "TARGET_KINDS", "VISIT_FORMS", "VISIT_KINDS", "VISIT_TARGET_KINDS",
           "ApiToken", "Attachment", "AttachmentBlob", "Bulletin", "BulletinSetting", "Case", "CaseAssist", "CaseEvent",
           "Category", "ContactPoint", "DailyFigure", "DayOff", "Extension", "IdempotentRequest", "LoginFailure",
           "CampaignPair", "CampaignUnit", "Milestone", "SiteInspection", "Notification", "Petition", "ReferenceVersion", "Suggestion", "SupervisionNote", "TakeDown",
           "Target", "Unit", "User", "Visit", "visit_cadres", "visit_targets", "Webhook",
           "WebhookDelivery",
           "OutgoingMail", "DailyFeedback", "FEEDBACK_STATUSES"]
