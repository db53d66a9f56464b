"""Members join a team only by accepting an owner's invitation: the invite form answers the same
whoever the email belongs to and shows nothing of anyone until they accept; the link is stored
hashed and works once."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from payments.audit.models import AuditLog
from payments.dashboard.models import TeamInvitation
from payments.merchants.models import Membership
from tests.dashboard.helpers import PASSWORD, form_token, make_team, make_user, sign_in

pytestmark = pytest.mark.django_db


def owner_client(team) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, team.owner)
    return client


def invite(client: Client, email: str, role: str = "staff") -> tuple[object, str]:
    response = client.post("/dashboard/team/invite/", {"email": email, "role": role,
                                                       "form_token": form_token(client, "/dashboard/team/")})
    assert response.status_code == 302 and response["Location"] == "/dashboard/team/", response
    page = client.get("/dashboard/team/")
    url = page.context["invited"]["url"]
    return page, url


def test_the_old_add_form_cannot_put_another_merchants_user_on_my_team() -> None:
    mine, theirs = make_team("Mine"), make_team("Theirs")
    client = owner_client(mine)
    response = client.post("/dashboard/team/add/", {"username": theirs.owner.username, "role": "staff"})
    assert response.status_code == 404
    assert not Membership.objects.filter(merchant=mine.merchant, user=theirs.owner).exists()


def test_inviting_an_existing_users_email_answers_as_for_an_unknown_one_and_reveals_nothing() -> None:
    mine, theirs = make_team("Mine"), make_team("Theirs")
    secret = pyotp.random_base32()
    from payments.dashboard.models import TotpDevice

    TotpDevice.objects.create(user=theirs.owner, secret=secret)
    client = owner_client(mine)
    known_page, known_url = invite(client, theirs.owner.email)
    unknown_page, unknown_url = invite(client, "nobody-here@example.com")

    def once_panel(page: object, email: str, url: str) -> str:
        text = page.content.decode()  # type: ignore[attr-defined]
        panel = re.search(r'<section class="panel once".*?</section>', text, re.S)
        assert panel is not None
        return panel.group(0).replace(url, "URL").replace(email, "EMAIL")

    assert once_panel(known_page, theirs.owner.email, known_url) == once_panel(
        unknown_page, "nobody-here@example.com", unknown_url)
    text = known_page.content.decode().replace(theirs.owner.email, "")  # type: ignore[attr-defined]
    assert theirs.owner.username not in text
    assert not Membership.objects.filter(merchant=mine.merchant, user=theirs.owner).exists()
    assert TeamInvitation.objects.filter(merchant=mine.merchant).count() == 2


def test_an_invited_user_accepts_signed_in_with_their_own_account_once() -> None:
    mine, theirs = make_team("Mine"), make_team("Theirs")
    _, url = invite(owner_client(mine), theirs.owner.email, role="manager")
    path = url.removeprefix("http://testserver")
    invitee = Client()
    sign_in(invitee, theirs.owner)
    page = invitee.get(path)
    assert page.status_code == 200 and b"Mine" in page.content
    response = invitee.post(path)
    assert response.status_code == 302
    assert Membership.objects.get(merchant=mine.merchant, user=theirs.owner).role == "manager"
    assert AuditLog.objects.filter(action="team.invitation_accepted", actor_id=theirs.owner.pk,
                                   merchant_id=mine.merchant.pk).count() == 1
    # used up: nobody else gets in with the same link
    stranger = make_user("stranger")
    other = Client()
    other.force_login(stranger)
    assert other.get(path).status_code == 404
    assert Client().post(path, {"username": "late", "password": "a fine long password 42",
                                "password_again": "a fine long password 42"}).status_code == 404
    assert not get_user_model().objects.filter(username="late").exists()


def test_a_new_person_creates_their_own_account_from_the_link_and_no_password_is_ever_shown_to_the_owner() -> None:
    team = make_team("Growing shop")
    owner = owner_client(team)
    _, url = invite(owner, "newbie@example.com")
    chosen = "my own secret words 77"
    response = Client().post(url.removeprefix("http://testserver"),
                             {"username": "newbie", "password": chosen, "password_again": chosen})
    assert response.status_code == 302 and response["Location"] == "/dashboard/login/"
    newbie = get_user_model().objects.get(username="newbie")
    assert newbie.check_password(chosen) and newbie.email == "newbie@example.com"
    assert Membership.objects.get(user=newbie, merchant=team.merchant).role == "staff"
    assert chosen not in owner.get("/dashboard/team/").content.decode()
    client = Client()
    response = client.post("/dashboard/login/", {"username": "newbie", "password": chosen})
    assert response["Location"] == "/dashboard/"


def test_the_link_is_mailed_stored_only_as_a_hash_and_shown_to_the_owner_once(
        django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    team = make_team("Mailing shop")
    owner = owner_client(team)
    with django_capture_on_commit_callbacks(execute=True):
        _, url = invite(owner, "friend@example.com")
    token = url.rstrip("/").rsplit("/", 1)[1]
    invitation = TeamInvitation.objects.get(merchant=team.merchant)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert [m.to for m in mail.outbox] == [["friend@example.com"]] and url in mail.outbox[0].body
    assert owner.get("/dashboard/team/").context["invited"] is None


def test_expired_and_revoked_invitations_cannot_be_accepted() -> None:
    team = make_team("Careful shop")
    owner = owner_client(team)
    _, expired_url = invite(owner, "late@example.com")
    TeamInvitation.objects.filter(email="late@example.com").update(expires_at=timezone.now() - timedelta(seconds=1))
    _, revoked_url = invite(owner, "gone@example.com")
    revoked = TeamInvitation.objects.get(email="gone@example.com")
    owner.post(f"/dashboard/team/invitations/{revoked.pk}/revoke/",
               {"form_token": form_token(owner, "/dashboard/team/")})
    assert TeamInvitation.objects.get(pk=revoked.pk).revoked_at is not None
    for url in (expired_url, revoked_url, "http://testserver/dashboard/invitation/made-up/"):
        assert Client().get(url.removeprefix("http://testserver")).status_code == 404
    assert Membership.objects.filter(merchant=team.merchant).count() == 1


def test_staff_cannot_invite() -> None:
    team = make_team("Small shop", roles=("staff",))
    client = Client()
    sign_in(client, team.users["staff"])
    assert client.post("/dashboard/team/invite/", {"email": "x@example.com", "role": "owner"}).status_code == 403
    assert not TeamInvitation.objects.exists()


def test_an_account_on_no_team_yet_may_sign_in_to_accept() -> None:
    team = make_team("Welcoming shop")
    _, url = invite(owner_client(team), "loner@example.com")
    loner = make_user("loner")
    path = url.removeprefix("http://testserver")
    client = Client()
    response = client.post("/dashboard/login/", {"username": "loner", "password": PASSWORD, "next": path})
    assert response.status_code == 302 and response["Location"] == path
    client.post(path)
    assert Membership.objects.get(user=loner).merchant_id == team.merchant.pk
