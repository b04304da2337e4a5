"""Nothing is decoded before its size is known: the face detector reads the size a decoder will
allocate from the picture's headers and refuses pictures above its limit, and OpenCV's own
decoder limit stands behind it. The decompression bomb of the security issue (two JPEG frame
headers, 20,000 x 20,000 then 16 x 16) is refused without a byte being decoded."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from daemon.posts.face_detection import blurred, count_faces
from policies.media import (
    PictureTooLarge,
    UncleanableMedia,
    decoded_pixels,
    dimensions,
    refuse_larger_than,
)
from tests.media import (
    animated_webp_with_canvas,
    dirty_gif,
    dirty_webp,
    jpeg_with_two_frame_headers,
    movie_with_location,
    photo_with_face,
    plain_jpeg,
    plain_png,
    plain_webp,
    with_frame_size,
)

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, environment: dict | None = None) -> dict:
    """Run `code` in a fresh interpreter (OpenCV reads its limit once, when it loads); it
    prints one JSON object, returned here, with its peak memory as "peak_mb" (VmHWM: the
    interpreter's own, where ru_maxrss would include what this process used before forking)."""
    script = code + ("\nresult['peak_mb'] = next(int(line.split()[1]) for line in "
                     "open('/proc/self/status') if line.startswith('VmHWM:')) / 1024\n"
                     "print(json.dumps(result))")
    env = {key: value for key, value in os.environ.items() if key != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    env.update(environment or {})
    completed = subprocess.run([sys.executable, "-c", "import json\n" + script], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("data", [plain_jpeg(64, 48), plain_png(20, 10), dirty_gif(),
                                  plain_webp(40, 30), dirty_webp()])
def test_dimensions_are_read_from_the_headers_as_decoders_read_them(data):
    assert dimensions(data) == Image.open(io.BytesIO(data)).size
    assert decoded_pixels(data) == Image.open(io.BytesIO(data)).size[0] * \
        Image.open(io.BytesIO(data)).size[1]


def test_dimensions_of_an_animated_webp_are_its_canvas():
    assert dimensions(animated_webp_with_canvas(16000, 16000)) == (16000, 16000)


def test_dimensions_refuse_the_decompression_bomb():
    with pytest.raises(UncleanableMedia, match="more than one frame header"):
        dimensions(jpeg_with_two_frame_headers(30000))


def test_dimensions_refuse_what_they_cannot_read_without_decoding():
    with pytest.raises(UncleanableMedia, match="cannot tell how large"):
        dimensions(movie_with_location())


def test_a_picture_above_the_limit_is_refused_with_advice():
    with pytest.raises(PictureTooLarge, match="120 megapixels.*12 megapixels is plenty"):
        refuse_larger_than(with_frame_size(plain_jpeg(), 12000, 10000), 50_000_000)
    assert refuse_larger_than(plain_jpeg(64, 48), 50_000_000) == (64, 48)


def test_the_face_detector_refuses_the_decompression_bomb_without_decoding_it():
    """Before: OpenCV decoded 20,000 x 20,000 pixels (peak memory over 450 MB) and found no
    face, so a signed bomb would have been accepted."""
    result = run_python(
        "from daemon.posts.face_detection import count_faces\n"
        "from tests.media import jpeg_with_two_frame_headers\n"
        "try:\n"
        "    result = {'faces': count_faces(jpeg_with_two_frame_headers(20000))}\n"
        "except ValueError as error:\n"
        "    result = {'refused': str(error)}\n")
    assert "more than one frame header" in result.get("refused", ""), result
    assert result["peak_mb"] < 250


@pytest.mark.parametrize("examine", [count_faces, lambda data, **limit: blurred(data, **limit)])
def test_the_face_detector_refuses_a_picture_whose_header_claims_more_than_its_limit(examine):
    huge = with_frame_size(plain_jpeg(), 12000, 10000)  # 120 megapixels claimed, 1 KB sent
    with pytest.raises(ValueError, match="120 megapixels"):
        examine(huge)
    with pytest.raises(ValueError, match="megapixels"):
        examine(photo_with_face(240), max_pixels=100_000)
    assert count_faces(photo_with_face(240), max_pixels=240 * 240 * 4) == 1


def test_opencv_itself_refuses_pictures_above_its_limit_once_steward_loads_it():
    """OpenCV 4.x reads OPENCV_IO_MAX_IMAGE_PIXELS once, when cv2 loads: importing the face
    detector sets it first, and the installed OpenCV then refuses a 105-megapixel header even
    when asked directly, without allocating it. Without the detector's import, the same call
    allocates the picture: the limit is what refuses it."""
    call = ("import cv2, numpy\n"
            "from tests.media import plain_jpeg, with_frame_size\n"
            "data = numpy.frombuffer(with_frame_size(plain_jpeg(), 10500, 10000), numpy.uint8)\n"
            "try:\n"
            "    picture = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)\n"
            "    result = {'decoded': None if picture is None else list(picture.shape)}\n"
            "except cv2.error as error:\n"
            "    result = {'refused': str(error)}\n")
    guarded = run_python("import daemon.posts.face_detection\nimport os\n" + call
                         + "result['limit'] = os.environ['OPENCV_IO_MAX_IMAGE_PIXELS']\n")
    assert "CV_IO_MAX_IMAGE_PIXELS" in guarded.get("refused", ""), guarded
    assert guarded["limit"] == "100000000" and guarded["peak_mb"] < 250
    unguarded = run_python(call)
    assert unguarded.get("decoded") == [10000, 10500], unguarded
    assert unguarded["peak_mb"] > 100


def test_a_larger_opencv_limit_in_the_environment_is_lowered_and_a_smaller_one_kept():
    lowered = run_python("import daemon.posts.face_detection, os\n"
                         "result = {'limit': os.environ['OPENCV_IO_MAX_IMAGE_PIXELS']}\n",
                         {"OPENCV_IO_MAX_IMAGE_PIXELS": str(10**12)})
    kept = run_python("import daemon.posts.face_detection, os\n"
                      "result = {'limit': os.environ['OPENCV_IO_MAX_IMAGE_PIXELS']}\n",
                      {"OPENCV_IO_MAX_IMAGE_PIXELS": "20000000"})
    assert (lowered["limit"], kept["limit"]) == ("100000000", "20000000")
