"""django-scim2's documented setup: models with its SCIM mixins (the adapters are its defaults)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.filters import GroupFilterQuery as BaseGroupFilterQuery
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):
    name = models.CharField(max_length=254, unique=True)


class User(AbstractSCIMUserMixin, AbstractUser):
    username = models.CharField(max_length=254, unique=True)
    member_of = models.ManyToManyField(Group, related_name="user_set", blank=True)

    @property
    def scim_groups(self):
        return self.member_of


class GroupFilterQuery(BaseGroupFilterQuery):
    """Lets ``displayName eq "…"`` reach the name column (django-scim2 maps no group attribute)."""

    attr_map = {("displayName", None, None): "name"}
