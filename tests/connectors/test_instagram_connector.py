"""The Instagram connector against the live sandbox on loopback: the sandbox fetches each photo
from Steward's short-lived URL as Instagram does, and refuses what Instagram refuses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.domain import Media, Post
from connectors.errors import (
    AuthenticationFailed,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Unsupported,
)
from connectors.instagram import InstagramConnector
from daemon.runtime.clock import FixedClock
from daemon.runtime.public_media import PublicMediaServer
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_INSTAGRAM_USER_ID
from tests.media import plain_jpeg


class RecordingHost:
    """The real media server, remembering every URL it handed out (to fetch them afterwards)."""

    def __init__(self, server: PublicMediaServer) -> None:
        self.server = server
        self.urls: list[str] = []

    def expose(self, data, mime_type):
        exposed = self.server.expose(data, mime_type)
        self.urls.append(exposed.url)
        return exposed

    def withdraw(self, exposed) -> None:
        self.server.withdraw(exposed)


@pytest.fixture
def media_server():
    server = PublicMediaServer(None).start()
    yield server
    server.stop()


@pytest.fixture
def host(media_server):
    return RecordingHost(media_server)


@pytest.fixture
def instagram(sandbox, host) -> InstagramConnector:
    return InstagramConnector(
        instagram_user_id=DEFAULT_INSTAGRAM_USER_ID,
        page_access_token=DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"], media_host=host,
        sandbox_url=sandbox.url, timeout=5.0, poll_seconds=0.01, sleep=lambda seconds: None)


def photo(tmp_path, name: str = "sports-day.jpg", width: int = 40, height: int = 40,
          data: bytes | None = None, mime: str = "image/jpeg") -> Media:
    data = data if data is not None else plain_jpeg(width, height)
    path = tmp_path / name
    path.write_bytes(data)
    return Media(path, "Children's shoes on the track", mime, hashlib.sha256(data).hexdigest(),
                 data)


def instagram_world(control) -> dict:
    return control.state()["instagram"]


def test_publishes_one_photo_that_instagram_fetched_from_a_url_gone_afterwards(
        instagram, control, host, tmp_path):
    ref = instagram.publish(Post("Sports day!", (photo(tmp_path),)))
    world = instagram_world(control)
    media = world["media"][ref.remote_id]
    assert (media["caption"], media["media_type"]) == ("Sports day!", "IMAGE")
    assert media["location_parameters"] == []
    assert [fetch["url"] for fetch in world["fetches"]] == host.urls
    assert ref.url == media["permalink"]
    # the address worked once, for Instagram, and is gone now
    assert requests.get(host.urls[0], timeout=5).status_code == 404
    assert host.server.exposed_count() == 0


def test_publishes_a_carousel_of_three_photos_as_one_post(instagram, control, tmp_path):
    photos = tuple(photo(tmp_path, f"p{i}.jpg") for i in range(3))
    ref = instagram.publish(Post("Our new library", photos))
    media = instagram_world(control)["media"][ref.remote_id]
    assert media["media_type"] == "CAROUSEL_ALBUM"
    assert len(media["children"]) == 3
    assert len(instagram_world(control)["fetches"]) == 3
    assert instagram.recent_posts(datetime.now(UTC) - timedelta(hours=1))[0].media_count == 3


def test_refuses_a_png_before_any_address_is_made(instagram, control, host, tmp_path):
    png = photo(tmp_path, "p.png", data=b"\x89PNG\r\n\x1a\n" + b"0" * 20, mime="image/png")
    with pytest.raises(Rejected, match="JPEG photos only"):
        instagram.publish(Post("A drawing", (png,)))
    assert host.urls == []
    assert instagram_world(control)["containers"] == {}


def test_a_photo_too_tall_for_instagram_is_refused_with_instagrams_words(
        instagram, host, tmp_path):
    tall = photo(tmp_path, width=20, height=60)  # 1:3, taller than 4:5
    with pytest.raises(Rejected, match="aspect ratio 20:60"):
        instagram.publish(Post("Tall", (tall,)))
    assert host.server.exposed_count() == 0  # withdrawn all the same


def test_the_sandbox_refuses_a_non_jpeg_fetched_from_the_url(instagram, host, tmp_path):
    # labelled JPEG, but PNG bytes: Instagram looks at the file, not at the label
    liar = photo(tmp_path, data=b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    with pytest.raises(Rejected, match="Supported formats are: JPEG"):
        instagram.publish(Post("Liar", (liar,)))


def test_more_than_ten_photos_are_refused_and_the_sandbox_refuses_eleven_children(
        instagram, sandbox, tmp_path):
    with pytest.raises(Rejected, match="at most 10"):
        instagram.publish(Post("Too many", tuple(photo(tmp_path, f"{i}.jpg") for i in range(11))))
    answer = requests.post(f"{sandbox.url}/v25.0/{DEFAULT_INSTAGRAM_USER_ID}/media", data={
        "media_type": "CAROUSEL", "children": ",".join(str(n) for n in range(11))},
        headers={"Authorization": "OAuth sandbox-page-token"}, timeout=5).json()
    assert set(answer["error"]) >= {"message", "type", "code", "error_subcode", "fbtrace_id"}


def test_at_the_publishing_limit_nothing_is_exposed_and_the_post_waits(
        instagram, control, host, tmp_path):
    requests.post(f"{control.url}/_sandbox/instagram", json={"quota_total": 1},
                  timeout=5).raise_for_status()
    instagram.publish(Post("First", (photo(tmp_path),)))
    with pytest.raises(RateLimited) as raised:
        instagram.publish(Post("Second", (photo(tmp_path, "b.jpg"),)))
    assert raised.value.retry_after == 3600
    assert len(host.urls) == 1  # the second photo never got an address


def test_the_limit_enforced_at_media_publish_is_a_rate_limit(instagram, control, tmp_path):
    prepared = instagram.prepare(Post("Quota race", (photo(tmp_path),)))
    requests.post(f"{control.url}/_sandbox/instagram", json={"quota_total": 0},
                  timeout=5).raise_for_status()
    with pytest.raises(RateLimited):
        instagram.publish_prepared(prepared)
    assert instagram.prepared_state(prepared) == "ready"


def test_waits_while_instagram_processes_the_container(instagram, control, tmp_path):
    requests.post(f"{control.url}/_sandbox/instagram", json={"processing_reads": 3},
                  timeout=5).raise_for_status()
    ref = instagram.publish(Post("Slow", (photo(tmp_path),)))
    assert ref.remote_id in instagram_world(control)["media"]
    counts = control.state()["request_counts"]
    assert sum(n for key, n in counts.items() if key.startswith("GET /v25.0/") and
               key.split("/")[-1].isdigit()) >= 4  # three IN_PROGRESS reads, then FINISHED


def test_a_container_is_published_once_and_then_says_published(instagram, tmp_path):
    prepared = instagram.prepare(Post("Once", (photo(tmp_path),)))
    assert instagram.prepared_state(prepared) == "ready"
    instagram.publish_prepared(prepared)
    assert instagram.prepared_state(prepared) == "published"
    with pytest.raises(Rejected):
        instagram.publish_prepared(prepared)


def test_a_container_expires_after_24_hours(instagram, control, tmp_path):
    prepared = instagram.prepare(Post("Late", (photo(tmp_path),)))
    requests.post(f"{control.url}/_sandbox/time/advance", json={"seconds": 24 * 3600},
                  timeout=5).raise_for_status()
    assert instagram.prepared_state(prepared) == "gone"
    with pytest.raises(Rejected, match="expired"):
        instagram.publish_prepared(prepared)


def test_a_dropped_media_publish_is_ambiguous(instagram, control, tmp_path):
    prepared = instagram.prepare(Post("Dropped", (photo(tmp_path),)))
    control.fault(path="media_publish", drop=True)
    with pytest.raises(TemporaryFailure) as raised:
        instagram.publish_prepared(prepared)
    assert raised.value.ambiguous


def test_an_unreachable_public_address_says_what_to_check(sandbox, control, tmp_path):
    class Nowhere:
        def expose(self, data, mime_type):
            from connectors.domain import ExposedMedia  # noqa: PLC0415
            return ExposedMedia("http://127.0.0.1:9/m/none.jpg", "none")

        def withdraw(self, exposed):
            pass

    connector = InstagramConnector(
        instagram_user_id=DEFAULT_INSTAGRAM_USER_ID,
        page_access_token=DEFAULT_FACEBOOK_CREDENTIALS["page_access_token"],
        media_host=Nowhere(), sandbox_url=sandbox.url, timeout=5.0, sleep=lambda s: None)
    with pytest.raises(TemporaryFailure, match="public_base_url"):
        connector.publish(Post("Nowhere", (photo(tmp_path),)))


def test_a_personal_account_cannot_publish(instagram, control, tmp_path):
    requests.post(f"{control.url}/_sandbox/instagram", json={"account_type": "PERSONAL"},
                  timeout=5).raise_for_status()
    with pytest.raises(AuthenticationFailed):
        instagram.publish(Post("Personal", (photo(tmp_path),)))


def test_what_instagram_cannot_do_is_declared_and_refused(instagram):
    capabilities = instagram.capabilities
    assert (capabilities.max_images_per_post, capabilities.block_users) == (10, False)
    assert "block" in capabilities.why_not["block_users"]
    with pytest.raises(Unsupported, match="cannot block"):
        instagram.block("123")
    assert instagram.check().handle == "oakfieldprimary"


def test_a_server_error_is_a_plain_temporary_failure(instagram, control, tmp_path):
    control.fault(path=r"/media\Z", status=500)
    with pytest.raises(TemporaryFailure, match="server error"):
        instagram.publish(Post("Five hundred", (photo(tmp_path),)))


# -- the public media server ---------------------------------------------------------------

def test_the_media_server_serves_only_get_of_an_exact_live_token(tmp_path):
    clock = FixedClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    server = PublicMediaServer("https://media.oakfield.example/steward",
                               lifetime=timedelta(minutes=10), clock=clock).start()
    try:
        exposed = server.expose(b"\xff\xd8\xffjpeg", "image/jpeg")
        assert exposed.url.startswith("https://media.oakfield.example/steward/m/")
        assert len(exposed.token) >= 43  # 256 bits
        local = server.local_url + exposed.url.split("/steward", 1)[1]
        answer = requests.get(local, timeout=5)
        assert (answer.status_code, answer.content) == (200, b"\xff\xd8\xffjpeg")
        assert answer.headers["Cache-Control"] == "no-store"
        for method in ("POST", "PUT", "DELETE", "HEAD"):
            assert requests.request(method, local, timeout=5).status_code == 405
        for path in ("/", "/m/", "/m", "/m/" + exposed.token, "/m/" + exposed.token[:-1] + ".jpg"):
            assert requests.get(server.local_url + path, timeout=5).status_code == 404
        assert requests.get(local[:-4] + ".png", timeout=5).status_code == 404
        clock.advance(10 * 60)
        assert requests.get(local, timeout=5).status_code == 404  # expired
        assert server.exposed_count() == 0
    finally:
        server.stop()
