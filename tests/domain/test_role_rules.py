"""The role rules of domain/roles.py, directly: every rank comparison at, just above and just below
its boundary, so that turning any `<=` into `<` (or a rule into `return True`) fails here."""

from __future__ import annotations

import pytest

from teamgate import errors
from teamgate.domain import roles
from teamgate.domain.roles import (
    DEFAULT_CATALOG,
    PERMISSIONS,
    KeyChange,
    Role,
    RoleCatalog,
)

ALL = PERMISSIONS
READ = frozenset({"team:read"})
OWNER = Role("owner", 100, ALL, owner=True)
DIRECTOR = Role("director", 90, ALL)
ADMIN = Role("admin", 50, ALL)
PEER = Role("peer", 50, ALL)  # another role of the admin's rank
AUDITOR = Role("auditor", 50, frozenset({"audit:read", "team:read"}))  # the admin's rank, fewer rights
MEMBER = Role("member", 10, READ)
KEYS_ONLY = Role("ops", 40, frozenset({roles.API_KEYS_MANAGE, "team:read"}))


def refusal(check, *args, **kwargs) -> str:
    """The whole sentence a refusal carries (people read it, so it is pinned word for word)."""
    with pytest.raises(errors.RoleNotAllowed) as refused:
        check(*args, **kwargs)
    return refused.value.detail


class TestCatalog:
    def test_a_catalog_needs_a_role_and_at_most_one_owner_role(self):
        with pytest.raises(ValueError, match="^a role catalog needs at least one role$"):
            RoleCatalog([])
        with pytest.raises(ValueError, match="^at most one role may be the owner role$"):
            RoleCatalog([OWNER, Role("boss", 90, ALL, owner=True)])
        assert RoleCatalog([OWNER, ADMIN]).owner_role is OWNER

    def test_permissions_and_ownership_come_from_the_file_and_default_to_none(self):
        catalog = RoleCatalog.from_mapping({"roles": {"lead": {"rank": 5, "permissions": ["team:read"], "owner": True},
                                                      "guest": {"rank": 1}}})
        assert catalog.get("lead") == Role("lead", 5, READ, owner=True)
        assert catalog.get("guest") == Role("guest", 1, frozenset(), owner=False)

    def test_a_former_owner_keeps_the_highest_role_that_is_not_the_owners(self):
        assert DEFAULT_CATALOG.successor_role().name == "admin"
        assert RoleCatalog([ADMIN, MEMBER]).successor_role() is ADMIN
        assert RoleCatalog([OWNER]).successor_role() is OWNER  # nothing else to become


class TestNeverGranted:
    def test_only_the_owner_role_is_never_granted(self):
        assert roles.never_granted(OWNER)
        assert not roles.never_granted(DIRECTOR)
        assert not roles.never_granted(MEMBER)


class TestMayGrant:
    @pytest.mark.parametrize(("granter", "role"), [(ADMIN, MEMBER), (ADMIN, ADMIN), (ADMIN, PEER), (OWNER, DIRECTOR)])
    def test_a_role_at_or_below_ones_own_rank_may_be_granted(self, granter, role):
        assert roles.may_grant(granter, role)

    @pytest.mark.parametrize(("granter", "role"), [(MEMBER, ADMIN), (ADMIN, DIRECTOR),
                                                   (Role("x", 49, ALL), ADMIN)])
    def test_a_role_above_ones_own_rank_may_not(self, granter, role):
        assert not roles.may_grant(granter, role)

    def test_the_owner_role_is_never_granted_even_from_above(self):
        assert not roles.may_grant(Role("god", 1000, ALL), OWNER)
        assert not roles.may_grant(OWNER, OWNER)

    def test_the_catalog_asks_the_same_rule(self):
        admin, member, owner = (DEFAULT_CATALOG.get(n) for n in ("admin", "member", "owner"))
        assert DEFAULT_CATALOG.grantable(admin, by_rank=50)
        assert not DEFAULT_CATALOG.grantable(admin, by_rank=49)
        assert DEFAULT_CATALOG.grantable(member, by_rank=10)
        assert not DEFAULT_CATALOG.grantable(owner, by_rank=100)


class TestMayManage:
    @pytest.mark.parametrize("held", [MEMBER, ADMIN, PEER, AUDITOR])
    def test_what_holds_a_role_at_or_below_ones_own_may_be_managed(self, held):
        assert roles.may_manage(ADMIN, held)

    @pytest.mark.parametrize(("actor", "held"), [(ADMIN, DIRECTOR), (ADMIN, OWNER), (MEMBER, ADMIN),
                                                 (Role("x", 49, ALL), ADMIN)])
    def test_what_holds_a_role_above_ones_own_may_not(self, actor, held):
        assert not roles.may_manage(actor, held)

    def test_a_role_the_catalog_no_longer_has_protects_nothing(self):
        assert roles.may_manage(MEMBER, None)


class TestMayInvite:
    def test_an_inviter_needs_the_permission_and_the_rank(self):
        assert roles.may_invite(ADMIN, MEMBER)
        assert roles.may_invite(ADMIN, ADMIN)
        assert not roles.may_invite(ADMIN, DIRECTOR)
        assert not roles.may_invite(KEYS_ONLY, MEMBER)  # ranked above it, but cannot manage invitations
        assert not roles.may_invite(Role("god", 1000, ALL), OWNER)


class TestExceeds:
    def test_a_role_ranked_above_exceeds(self):
        assert roles.exceeds(ADMIN, Role("x", 49, ALL))
        assert roles.exceeds(DIRECTOR, ADMIN)

    def test_the_same_rank_and_rights_does_not_exceed(self):
        assert not roles.exceeds(ADMIN, PEER)
        assert not roles.exceeds(MEMBER, ADMIN)

    def test_a_right_the_limit_lacks_exceeds_even_at_a_lower_rank(self):
        assert roles.exceeds(PEER, AUDITOR)
        assert roles.exceeds(KEYS_ONLY, AUDITOR)
        assert not roles.exceeds(AUDITOR, PEER)

    def test_an_unknown_role_exceeds_nothing(self):
        assert not roles.exceeds(None, MEMBER)


class TestEnsureMayInvite:
    def test_at_or_below_ones_own_rank_passes(self):
        roles.ensure_may_invite(ADMIN, ADMIN)
        roles.ensure_may_invite(ADMIN, MEMBER)

    def test_the_owner_role_is_refused_with_its_own_reason(self):
        assert refusal(roles.ensure_may_invite, Role("god", 1000, ALL), OWNER) == (
            "The owner role is never granted by invitation; transfer ownership instead.")

    def test_above_ones_own_rank_is_refused_naming_ones_role(self):
        assert refusal(roles.ensure_may_invite, ADMIN, DIRECTOR) == "You may grant only roles at or below your own (admin)."


class TestEnsureMayChangeRole:
    def test_between_roles_at_or_below_ones_own_passes(self):
        roles.ensure_may_change_role(ADMIN, held=MEMBER, new=ADMIN, holds_ownership=False)
        roles.ensure_may_change_role(ADMIN, held=PEER, new=MEMBER, holds_ownership=False)
        roles.ensure_may_change_role(ADMIN, held=None, new=MEMBER, holds_ownership=False)

    @pytest.mark.parametrize(("held", "new", "holds_ownership"), [(ADMIN, MEMBER, True), (MEMBER, OWNER, False)])
    def test_the_owner_role_moves_only_by_transfer(self, held, new, holds_ownership):
        assert refusal(roles.ensure_may_change_role, OWNER, held=held, new=new, holds_ownership=holds_ownership) == (
            "The owner role moves only by ownership transfer.")

    def test_raising_someone_above_ones_own_rank_is_refused(self):
        assert refusal(roles.ensure_may_change_role, ADMIN, held=MEMBER, new=DIRECTOR, holds_ownership=False) == (
            "You may manage only roles at or below your own (admin).")

    def test_changing_someone_who_outranks_one_is_refused(self):
        assert refusal(roles.ensure_may_change_role, ADMIN, held=DIRECTOR, new=MEMBER, holds_ownership=False) == (
            "You may manage only roles at or below your own (admin).")


class TestEnsureMayRemove:
    def test_someone_at_or_below_ones_own_rank_may_be_removed(self):
        roles.ensure_may_remove(ADMIN, held=PEER, holds_ownership=False, leaving=False)
        roles.ensure_may_remove(ADMIN, held=None, holds_ownership=False, leaving=False)

    def test_someone_who_outranks_one_may_not_be_removed(self):
        assert refusal(roles.ensure_may_remove, ADMIN, held=DIRECTOR, holds_ownership=False, leaving=False) == (
            "You may remove only members whose role is at or below your own.")

    def test_anyone_may_leave_whatever_the_ranks(self):
        roles.ensure_may_remove(MEMBER, held=DIRECTOR, holds_ownership=False, leaving=True)

    @pytest.mark.parametrize("leaving", [True, False])
    def test_the_owner_can_neither_leave_nor_be_removed(self, leaving):
        assert refusal(roles.ensure_may_remove, OWNER, held=OWNER, holds_ownership=True, leaving=leaving) == (
            "The owner cannot be removed; transfer ownership first.")


class TestOwnershipTransfer:
    @pytest.mark.parametrize(("is_owner", "by_api_key", "allowed"), [
        (True, False, True), (True, True, False), (False, False, False), (False, True, False)])
    def test_only_the_owner_in_person(self, is_owner, by_api_key, allowed):
        assert roles.may_transfer_ownership(is_owner=is_owner, by_api_key=by_api_key) is allowed


class TestKeysFollowTheirMaker:
    def test_a_key_within_the_makers_new_role_is_kept(self):
        assert roles.key_after_maker_change(MEMBER, ADMIN) is KeyChange.KEEP
        assert roles.key_after_maker_change(PEER, ADMIN) is KeyChange.KEEP
        assert roles.key_after_maker_change(None, MEMBER) is KeyChange.KEEP

    def test_a_key_above_a_maker_who_still_manages_keys_is_lowered(self):
        assert roles.key_after_maker_change(ADMIN, KEYS_ONLY) is KeyChange.LOWER

    def test_a_key_above_a_maker_who_no_longer_manages_keys_is_revoked(self):
        assert roles.key_after_maker_change(ADMIN, MEMBER) is KeyChange.REVOKE
        assert roles.key_after_maker_change(PEER, AUDITOR) is KeyChange.REVOKE  # same rank, more rights
