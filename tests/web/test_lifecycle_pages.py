"""Host pages of the lifecycle (edit with preview, draft, clone, bundle slug) and a team's
actions on its submission page (cancel, download)."""

from __future__ import annotations

from tests.platform.helpers import auth, truth_predictions, zip_folder
from tests.web.conftest import Site, csrf_of


def test_host_previews_edits_and_drafts(site: Site) -> None:
    host = site.browser("host")
    edit = "/competitions/tiny/edit"
    assert 'href="/competitions/tiny/edit"' in host.get("/competitions/tiny").text
    preview = site.post_form(
        host,
        edit,
        edit,
        {
            "title": "Tiny 2",
            "description": "# Heading\n\n**bold**",
            "status": "published",
            "action": "preview",
        },
    )
    assert preview.status_code == 200 and 'id="preview"' in preview.text
    assert "<strong>bold</strong>" in preview.text
    assert site.api.get("/api/v1/competitions/tiny").json()["title"] != "Tiny 2"  # not saved
    saved = site.post_form(
        host,
        edit,
        edit,
        {
            "title": "Tiny 2",
            "description": "new rules",
            "status": "draft",
            "time_s": "30",
            "memory_mb": "512",
            "max_team_size": "3",
        },
    )
    assert saved.status_code == 303
    view = site.api.get("/api/v1/competitions/tiny", headers=auth(site.tokens["host"])).json()
    assert view["title"] == "Tiny 2" and view["status"] == "draft"
    assert view["limits"]["time_s"] == 30 and view["max_team_size"] == 3
    alice = site.browser("alice")
    assert alice.get("/competitions/tiny").status_code == 404
    assert "/competitions/tiny" not in alice.get("/").text
    assert alice.get("/competitions/tiny/submit").status_code == 404
    assert 'data-status="draft"' in host.get("/").text
    bad = site.post_form(host, edit, edit, {"title": "", "description": "", "status": "gone"})
    assert bad.status_code == 422
    assert alice.get(edit).status_code == 404  # a draft does not exist for her
    judge = site.browser("judge")
    assert judge.get(edit).status_code == 403  # judges see it, hosts change it


def test_clone_makes_a_draft_with_the_data(site: Site) -> None:
    host = site.browser("host")
    done = site.post_form(
        host, "/competitions/tiny/edit", "/competitions/tiny/clone", {"new_slug": "tiny-copy"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/competitions/tiny-copy/edit"
    token = auth(site.tokens["host"])
    copy = site.api.get("/api/v1/competitions/tiny-copy", headers=token).json()
    assert copy["status"] == "draft" and copy["title"].endswith("(copy)")
    original = site.api.get("/api/v1/competitions/tiny").json()
    assert copy["data_files"] == original["data_files"]
    data = site.api.get("/api/v1/competitions/tiny-copy/data/train.parquet", headers=token)
    assert data.status_code == 200 and data.content
    again = site.post_form(
        host, "/competitions/tiny/edit", "/competitions/tiny/clone", {"new_slug": "tiny-copy"}
    )
    assert again.status_code == 409 and "exists" in again.text
    alice = site.browser("alice")
    assert alice.get("/competitions/tiny-copy").status_code == 404


def test_bundle_form_takes_a_slug(site: Site) -> None:
    host = site.browser("host")
    token = csrf_of(host.get("/host/competitions/new").text)
    clash = host.post(
        "/host/competitions/bundle",
        data={"csrf_token": token},
        files={"bundle": ("b.zip", zip_folder(site.bundle), "application/zip")},
    )
    assert clash.status_code == 409 and "choose another slug" in clash.text
    made = host.post(
        "/host/competitions/bundle",
        data={"csrf_token": token, "slug": "tiny-again"},
        files={"bundle": ("b.zip", zip_folder(site.bundle), "application/zip")},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/competitions/tiny-again"
    bad = host.post(
        "/host/competitions/bundle",
        data={"csrf_token": token, "slug": "Bad Slug"},
        files={"bundle": ("b.zip", zip_folder(site.bundle), "application/zip")},
    )
    assert bad.status_code == 422 and "lowercase" in bad.text


def test_team_cancels_and_downloads_on_the_submission_page(site: Site) -> None:
    content = truth_predictions(site.bundle)
    created = site.api.post(
        "/api/v1/competitions/tiny/submissions",
        files={"file": ("pred.csv", content)},
        data={"format": "predictions"},
        headers=auth(site.tokens["alice"]),
    )
    sid = created.json()["id"]
    alice = site.browser("alice")
    page = alice.get(f"/submissions/{sid}").text
    assert f'href="/submissions/{sid}/file"' in page and "Cancel this submission" in page
    assert alice.get(f"/submissions/{sid}/file").content == content
    judge = site.browser("judge")
    assert judge.get(f"/submissions/{sid}/file").content == content
    bob = site.browser("bob")
    assert bob.get(f"/submissions/{sid}/file").status_code == 404
    cancelled = site.post_form(alice, f"/submissions/{sid}", f"/submissions/{sid}/cancel", {})
    assert cancelled.status_code == 303
    assert (
        site.api.get(f"/api/v1/submissions/{sid}", headers=auth(site.tokens["alice"])).json()[
            "status"
        ]
        == "cancelled"
    )


def test_web_upload_infers_the_format_from_the_file_name(site: Site) -> None:
    alice = site.browser("alice")
    page = "/competitions/tiny/submit"
    assert 'name="format" value="" checked' in alice.get(page).text
    inferred = site.post_form(
        alice, page, page, {}, files={"file": ("pred.csv", truth_predictions(site.bundle))}
    )
    assert inferred.status_code == 303
    sid = inferred.headers["location"].rsplit("/", 1)[1]
    view = site.api.get(f"/api/v1/submissions/{sid}", headers=auth(site.tokens["alice"])).json()
    assert view["format"] == "predictions"
    unknown = site.post_form(alice, page, page, {}, files={"file": ("model.zip", b"PK")})
    assert unknown.status_code == 422 and "choose the format" in unknown.text


def test_announcement_reaches_the_notifications_page(site: Site) -> None:
    host = site.browser("host")
    sent = site.post_form(
        host,
        "/competitions/tiny/edit",
        "/competitions/tiny/announce",
        {"title": "Deadline moved", "body": "One more week."},
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("announced=1")
    alice = site.browser("alice")
    page = alice.get("/notifications").text
    assert "Deadline moved" in page and "1 unread" in page
    assert "data-unread>1</span>" in alice.get("/").text  # the header counts them
    assert site.post_form(alice, "/notifications", "/notifications/read", {}).status_code == 303
    assert "0 unread" in alice.get("/notifications").text
    from challenge.notifications.models import NotificationKind

    kept = [k.value for k in NotificationKind if k is not NotificationKind.ANNOUNCEMENT]
    saved = site.post_form(alice, "/notifications", "/notifications/email", {"email": kept})
    assert saved.status_code == 303
    muted = site.api.get("/api/v1/users/me/email-settings", headers=auth(site.tokens["alice"]))
    assert muted.json() == {"muted": ["announcement"]}
    assert (
        site.post_form(
            alice, "/competitions/tiny", "/competitions/tiny/announce", {"title": "spam"}
        ).status_code
        == 403
    )
