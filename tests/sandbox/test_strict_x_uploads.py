"""The sandbox runs X's chunked media upload as strictly as X: chunks in order and within X's
sizes, finalize only over every byte, processing through its states, expiry, and no post with a
media id that is not ready. Requests are signed as tweepy signs them (OAuth 1.0a)."""

from __future__ import annotations

import base64

import pytest
import requests

from tests.movies import movie, sound, video
from tests.sandbox.test_strict_x import call, x_messages

CLIP = movie([video(count=60), sound(count=80)])


def initialize(sandbox, total: int = len(CLIP), media_type: str = "video/mp4",
               category: str | None = "tweet_video") -> requests.Response:
    body = {"media_type": media_type, "total_bytes": total}
    if category:
        body["media_category"] = category
    return call(sandbox, "POST", "/2/media/upload/initialize", json=body)


def append(sandbox, media_id: str, index: int, piece: bytes) -> requests.Response:
    return call(sandbox, "POST", f"/2/media/upload/{media_id}/append",
                json={"media": base64.b64encode(piece).decode(), "segment_index": index})


def finalize(sandbox, media_id: str) -> requests.Response:
    return call(sandbox, "POST", f"/2/media/upload/{media_id}/finalize")


def status(sandbox, media_id: str) -> requests.Response:
    return call(sandbox, "GET", "/2/media/upload",
                params={"command": "STATUS", "media_id": media_id})


def advance(sandbox, seconds: float) -> None:
    requests.post(f"{sandbox.url}/_sandbox/time/advance", json={"seconds": seconds},
                  timeout=5).raise_for_status()


def uploaded(sandbox, data: bytes = CLIP, chunk: int = 5000) -> str:
    media_id = initialize(sandbox, len(data)).json()["data"]["id"]
    for index in range(0, -(-len(data) // chunk)):
        assert append(sandbox, media_id, index, data[index * chunk:(index + 1) * chunk]).ok
    return media_id


def tweet(sandbox, media_ids: list[str]) -> requests.Response:
    return call(sandbox, "POST", "/2/tweets",
                json={"text": "The school play", "media": {"media_ids": media_ids}})


def test_initialize_answers_an_id_a_video_media_key_and_the_expiry(sandbox):
    data = initialize(sandbox).json()["data"]
    assert data["media_key"] == f"7_{data['id']}" and data["expires_after_secs"] == 86400


@pytest.mark.parametrize(("body", "why"), [
    ({"total_bytes": 10, "media_category": "tweet_video"}, "media_type is required"),
    ({"media_type": "video/mp4", "media_category": "tweet_video"}, "total_bytes is required"),
    ({"media_type": "image/png", "total_bytes": 10, "media_category": "tweet_video"},
     "not a video"),
    ({"media_type": "video/mp4", "total_bytes": 10, "media_category": "tweet_gif"}, "not a GIF"),
    ({"media_type": "image/gif", "total_bytes": 16 * 1024 * 1024, "media_category": "tweet_gif"},
     "over the limit"),
    ({"media_type": "video/mp4", "total_bytes": 9 * 1024 ** 3, "media_category": "tweet_video"},
     "over the limit"),
    ({"media_type": "video/x-msvideo", "total_bytes": 10}, "enumeration"),
    ({"media_type": "video/mp4", "total_bytes": 10, "duration": 3}, "not defined in the schema"),
])
def test_initialize_refuses_what_x_refuses(sandbox, body, why):
    response = call(sandbox, "POST", "/2/media/upload/initialize", json=body)
    assert response.status_code == 400
    assert any(why in message for message in x_messages(response))


def test_chunks_go_in_order_a_gap_is_refused_and_a_chunk_may_be_sent_again(sandbox):
    media_id = initialize(sandbox).json()["data"]["id"]
    assert append(sandbox, media_id, 0, CLIP[:5000]).ok
    gap = append(sandbox, media_id, 2, CLIP[10000:])
    assert gap.status_code == 400 and "out of order" in x_messages(gap)[0]
    assert append(sandbox, media_id, 0, CLIP[:5000]).ok  # a retried chunk replaces itself
    assert append(sandbox, media_id, 1, CLIP[5000:10000]).json()["data"]["expires_at"] > 0


def test_a_chunk_over_5_mb_or_beyond_total_bytes_is_refused(sandbox):
    media_id = initialize(sandbox, 12 * 1024 * 1024).json()["data"]["id"]
    big = append(sandbox, media_id, 0, b"\0" * (5 * 1024 * 1024 + 1))
    assert big.status_code == 400 and "at most" in x_messages(big)[0]
    small = initialize(sandbox, 10).json()["data"]["id"]
    over = append(sandbox, small, 0, b"\0" * 11)
    assert over.status_code == 400 and "more than total_bytes" in x_messages(over)[0]


def test_segment_index_stays_within_0_to_999(sandbox):
    media_id = initialize(sandbox).json()["data"]["id"]
    response = append(sandbox, media_id, 1000, b"x")
    assert response.status_code == 400


def test_finalize_needs_every_byte_and_nothing_is_appended_after_it(sandbox):
    media_id = initialize(sandbox).json()["data"]["id"]
    assert append(sandbox, media_id, 0, CLIP[:5000]).ok
    short = finalize(sandbox, media_id)
    assert short.status_code == 400 and "File size does not match" in x_messages(short)[0]
    media_id = uploaded(sandbox)
    assert finalize(sandbox, media_id).ok
    late = append(sandbox, media_id, 3, b"x")
    assert late.status_code == 400 and "finalized" in x_messages(late)[0]


def test_processing_goes_pending_in_progress_succeeded_as_time_passes(sandbox):
    media_id = uploaded(sandbox)
    info = finalize(sandbox, media_id).json()["data"]["processing_info"]
    assert (info["state"], info["check_after_secs"]) == ("pending", 1)
    assert status(sandbox, media_id).json()["data"]["processing_info"]["state"] == "pending"
    advance(sandbox, 1)
    info = status(sandbox, media_id).json()["data"]["processing_info"]
    assert (info["state"], info["check_after_secs"]) == ("in_progress", 2)
    advance(sandbox, 2)
    data = status(sandbox, media_id).json()["data"]
    assert data["processing_info"]["state"] == "succeeded" and "check_after_secs" not in \
        data["processing_info"]
    assert data["video"] == {"video_type": "video/mp4"}
    assert finalize(sandbox, media_id).json()["data"]["processing_info"]["state"] == "succeeded"
    assert requests.get(f"{sandbox.url}/_sandbox/state", timeout=5).json()["x"][
        "early_status_polls"] == 1  # the status asked for before check_after_secs


def test_a_post_cannot_use_a_video_before_processing_succeeded(sandbox):
    media_id = uploaded(sandbox)
    assert tweet(sandbox, [media_id]).status_code == 400  # not finalized
    finalize(sandbox, media_id)
    refused = tweet(sandbox, [media_id])
    assert refused.status_code == 400 and "not ready" in x_messages(refused)[0]
    advance(sandbox, 3)
    assert tweet(sandbox, [media_id]).status_code == 201


def test_a_failed_processing_never_becomes_postable(sandbox):
    requests.post(f"{sandbox.url}/_sandbox/events", json={"kind": "x.media_processing_fails"},
                  timeout=5).raise_for_status()
    media_id = uploaded(sandbox)
    finalize(sandbox, media_id)
    advance(sandbox, 3)
    assert status(sandbox, media_id).json()["data"]["processing_info"]["state"] == "failed"
    assert tweet(sandbox, [media_id]).status_code == 400


def test_a_video_goes_alone_in_a_post(sandbox, x_connector, photo):
    media_id = uploaded(sandbox)
    finalize(sandbox, media_id)
    advance(sandbox, 3)
    photo_id = x_connector.upload_image(photo)
    mixed = tweet(sandbox, [media_id, photo_id])
    assert mixed.status_code == 400 and "1 video" in x_messages(mixed)[0]


def test_an_expired_upload_is_unknown_to_every_call(sandbox):
    media_id = uploaded(sandbox)
    advance(sandbox, 86400)
    for response in (append(sandbox, media_id, 0, b"x"), finalize(sandbox, media_id),
                     status(sandbox, media_id), tweet(sandbox, [media_id])):
        assert response.status_code == 400


def test_a_video_cannot_go_through_the_one_request_upload(sandbox):
    response = call(sandbox, "POST", "/2/media/upload", json={
        "media": base64.b64encode(CLIP).decode(), "media_category": "tweet_video"})
    assert response.status_code == 400 and "in chunks" in x_messages(response)[0]
