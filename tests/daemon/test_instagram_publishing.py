"""Instagram posts go out exactly once through the publisher, whatever is cut off between the
container and media_publish: the container id is recorded first, and a Publisher started
afresh on the same database (a restart) asks the container what became of it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import requests

from config.settings import PublishingSettings
from connectors.instagram import InstagramConnector
from daemon.audit.chain import AuditLog
from daemon.posts.publishing import Publisher
from daemon.runtime.clock import FixedClock
from daemon.runtime.public_media import PublicMediaServer
from daemon.runtime.store import Store, StoredSubmission
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_INSTAGRAM_USER_ID
from tests.media import plain_jpeg

DUE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path, sandbox):
    media = PublicMediaServer(None).start()
    store = Store(tmp_path / "steward.sqlite3")
    clock = FixedClock(DUE)
    audit = AuditLog(tmp_path / "audit" / "audit.jsonl", clock, signing_key=None)
    folder = tmp_path / "queue" / "open-day"
    folder.mkdir(parents=True)
    items = []
    for index in range(2):
        data = plain_jpeg(40 + index, 40)
        (folder / f"p{index}.jpg").write_bytes(data)
        items.append({"file": f"p{index}.jpg", "alt": "The hall", "mime": "image/jpeg",
                      "sha256": hashlib.sha256(data).hexdigest()})
    store.add_submission(StoredSubmission(
        id="open-day", name="open-day", content_sha256="o" * 64, publish_at=DUE,
        status="scheduled", signers=["Head Teacher Brackley"], received_at=DUE - timedelta(days=1),
        folder=folder, posts={"instagram": {"text": "Open day!", "media": items}}), DUE)

    def publisher() -> Publisher:  # a fresh one each time: what a restart builds
        connector = InstagramConnector(
            instagram_user_id=DEFAULT_INSTAGRAM_USER_ID,
            page_access_token=DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"],
            media_host=media, sandbox_url=sandbox.url, timeout=5.0, sleep=lambda s: None)
        return Publisher(store, {"instagram": connector}, audit, clock,
                         PublishingSettings(), tmp_path / "archive")

    yield store, clock, publisher, media
    audit.close()
    store.close()
    media.stop()


def _instagram(control) -> dict:
    return control.state()["instagram"]


def _delivery(store):
    return store.deliveries("open-day")[0]


def test_a_carousel_is_published_and_its_container_recorded(world, control):
    store, clock, publisher, media = world
    publisher().run("open-day")
    delivery = _delivery(store)
    assert delivery.state == "sent"
    instagram = _instagram(control)
    assert list(instagram["media"]) == [delivery.remote_id]
    assert instagram["media"][delivery.remote_id]["container"] == delivery.prepared_id
    assert media.exposed_count() == 0


def test_a_publish_cut_off_after_instagram_published_is_found_not_repeated(world, control):
    store, clock, publisher, _ = world
    control.fault(path="media_publish", drop=True, after=True)  # published, answer lost
    publisher().run("open-day")
    assert _delivery(store).state == "sending"
    clock.advance(3600)
    publisher().run("open-day")
    delivery = _delivery(store)
    instagram = _instagram(control)
    assert delivery.state == "sent"
    assert list(instagram["media"]) == [delivery.remote_id]
    assert len(instagram["published_at"]) == 1


def test_a_publish_cut_off_before_instagram_published_publishes_the_same_container(
        world, control):
    store, clock, publisher, _ = world
    control.fault(path="media_publish", drop=True)  # never reached Instagram
    publisher().run("open-day")
    prepared = _delivery(store).prepared_id
    assert prepared is not None
    clock.advance(3600)
    publisher().run("open-day")  # resolves: the container is FINISHED, so back to pending
    clock.advance(1)
    publisher().run("open-day")
    instagram = _instagram(control)
    assert _delivery(store).state == "sent"
    assert len(instagram["media"]) == 1
    assert next(iter(instagram["media"].values()))["container"] == prepared
    parents = [c for c in instagram["containers"].values() if not c["is_carousel_item"]]
    assert len(parents) == 1  # no second container was made


def test_an_expired_container_is_replaced_by_a_new_one_and_published_once(world, control):
    store, clock, publisher, _ = world
    control.fault(path="media_publish", drop=True)
    publisher().run("open-day")
    first = _delivery(store).prepared_id
    requests.post(f"{control.url}/_sandbox/time/advance", json={"seconds": 25 * 3600},
                  timeout=5).raise_for_status()
    clock.advance(3600)
    for _ in range(3):
        publisher().run("open-day")
        clock.advance(60)
    delivery = _delivery(store)
    instagram = _instagram(control)
    assert delivery.state == "sent"
    assert delivery.prepared_id != first
    assert len(instagram["media"]) == 1


def test_at_the_publishing_limit_the_post_waits_without_spending_a_container(world, control):
    store, clock, publisher, media = world
    requests.post(f"{control.url}/_sandbox/instagram", json={"quota_total": 0},
                  timeout=5).raise_for_status()
    publisher().run("open-day")
    delivery = _delivery(store)
    assert delivery.state == "pending"
    assert "publishing limit" in delivery.last_error
    assert _instagram(control)["containers"] == {}
    assert _instagram(control)["fetches"] == []
