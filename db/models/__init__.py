"""Every model, imported so Alembic and the app see one complete metadata."""
from db.base import Base
from db.models.accounts import OtpCode, RefreshToken, User
from db.models.chat import DirectMessage, Message, MessageRead, UserBlock
from db.models.notifications import Notification, NotificationPreference, SavedSearch, SavedSearchAlert
from db.models.profiles import Profile, ProfileSkill, Skill
from db.models.projects import Application, Project, ProjectMember, ProjectRole
from db.models.search import SearchOutbox
from db.models.uploads import StoredFile

__all__ = ["Base", "User", "OtpCode", "RefreshToken", "Skill", "Profile", "ProfileSkill", "Project", "ProjectRole",
           "Application", "ProjectMember", "Message", "MessageRead", "DirectMessage", "UserBlock", "SearchOutbox",
           "StoredFile", "Notification", "NotificationPreference", "SavedSearch", "SavedSearchAlert"]
