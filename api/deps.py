"""FastAPI dependencies: thin lookups into the app's ``Services``.

``api/app.py`` builds one ``Services`` (``tutor/services.py``) from settings, or takes the
one a test hands in, and keeps it on ``app.state.services``; each dependency here returns
one of its members. Routes use the typed aliases. Tests build the app with their own
services (``create_app(services=build_services(settings, kb=kb))``) and swap a single
service with ``app.dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from knowledge.knowledge_base import KnowledgeBase
from tutor.accounts.login_throttle import LoginThrottle
from tutor.accounts.privacy import TraineeData
from tutor.accounts.users import AccountService
from tutor.chat.service import ChatService
from tutor.curation.content_gaps import ContentGaps
from tutor.curation.course_authoring import CourseAuthoring
from tutor.curation.kb_admin import KnowledgeAdminService
from tutor.learning.analytics.service import AnalyticsService
from tutor.learning.service import LearnerService
from tutor.review.service import ReviewService
from tutor.services import Services
from tutor.settings import Settings


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_knowledge_base(services: ServicesDep) -> KnowledgeBase:
    return services.kb


def get_account_service(services: ServicesDep) -> AccountService:
    return services.accounts


def get_login_throttle(request: Request) -> LoginThrottle:
    # One per application: failed logins are counted in memory (tutor/accounts/login_throttle.py).
    return request.app.state.login_throttle


def get_chat_service(services: ServicesDep) -> ChatService:
    return services.chat


def get_learner_service(services: ServicesDep) -> LearnerService:
    services.catalog.refresh()  # course content may have changed since the last request
    return services.learner


def get_review_service(services: ServicesDep) -> ReviewService:
    services.catalog.refresh()  # a review's evidence goes to the learner model
    return services.review


def get_trainee_data(services: ServicesDep) -> TraineeData:
    return services.trainee_data


def get_analytics_service(services: ServicesDep) -> AnalyticsService:
    services.catalog.refresh()  # the cohort's mastery comes from the learner model
    return services.analytics


def get_content_gaps(services: ServicesDep) -> ContentGaps:
    return services.gaps


def get_course_authoring(services: ServicesDep) -> CourseAuthoring:
    return services.authoring


def get_kb_admin_service(services: ServicesDep) -> KnowledgeAdminService:
    return services.kb_admin


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]
AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
LearnerServiceDep = Annotated[LearnerService, Depends(get_learner_service)]
ReviewServiceDep = Annotated[ReviewService, Depends(get_review_service)]
TraineeDataDep = Annotated[TraineeData, Depends(get_trainee_data)]
AnalyticsServiceDep = Annotated[AnalyticsService, Depends(get_analytics_service)]
ContentGapsDep = Annotated[ContentGaps, Depends(get_content_gaps)]
CourseAuthoringDep = Annotated[CourseAuthoring, Depends(get_course_authoring)]
KbAdminServiceDep = Annotated[KnowledgeAdminService, Depends(get_kb_admin_service)]
# The request's user (CurrentUserDep, OptionalUserDep, PageUserDep, require_access) lives in
# api/auth.py: those dependencies need the ones above, and this module imports no route code.
