"""Photos with location and identifying metadata, made by the tests themselves."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def _gradient(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata([((x * 7) % 256, (y * 5) % 256, (x + y) % 256)
                   for y in range(height) for x in range(width)])
    return image


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


XMP = (b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
       b"xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
       b"xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:photoshop="
       b"'http://ns.adobe.com/photoshop/1.0/' exif:GPSLatitude='51,30.0N' "
       b"exif:GPSLongitude='0,7.0W' photoshop:City='Examplebury' photoshop:Country="
       b"'United Kingdom'/></rdf:RDF></x:xmpmeta>")


def _iptc_city(city: bytes) -> bytes:
    record = b"\x1c\x02\x5a" + struct.pack(">H", len(city)) + city  # 2:90 City
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    return b"Photoshop 3.0\x00" + resource


def _noise(width: int, height: int) -> Image.Image:
    """Camera-like detail (noise), so that the JPEG is as large as a real photo."""
    channels = [Image.effect_noise((width, height), sigma) for sigma in (60, 70, 80)]
    return Image.merge("RGB", channels)


def dirty_jpeg(width: int = 64, height: int = 48, orientation: int = 6,
               progressive: bool = False, quality: int = 85, noisy: bool = False) -> bytes:
    """A JPEG with EXIF (orientation, camera, serial, GPS), XMP with GPS and city, IPTC city,
    a comment, a JFXX thumbnail and a trailing second image (as MPF previews are stored)."""
    image = _noise(width, height) if noisy else _gradient(width, height)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ExampleCam"
    exif[0x0110] = "Model 7"
    exif[0x013B] = "A. Photographer"  # Artist
    exif.get_ifd(0x8769)[0xA431] = "SERIAL-0042"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=quality, progressive=progressive)
    data = buffer.getvalue()
    thumbnail = io.BytesIO()
    _gradient(8, 6).save(thumbnail, "JPEG")
    extra = (segment(0xE0, b"JFXX\x00\x10" + thumbnail.getvalue()[:2000])
             + segment(0xE1, XMP) + segment(0xED, _iptc_city(b"Examplebury"))
             + segment(0xFE, b"Taken by A. Photographer at 1 Example Road"))
    return data[:2] + extra + data[2:] + thumbnail.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def exif_tiff_with_gps(orientation: int) -> bytes:
    """A little-endian TIFF block: IFD0 with Orientation and a GPS IFD with coordinates."""
    entries = [(0x0112, 3, 1, struct.pack("<HH", orientation, 0)),
               (0x8825, 4, 1, struct.pack("<I", 8 + 2 + 2 * 12 + 4))]
    ifd0 = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + value for tag, kind, count, value in entries)
    ifd0 += struct.pack("<I", 0)
    gps = struct.pack("<H", 1) + struct.pack("<HHI", 1, 2, 2) + b"N\x00\x00\x00"
    gps += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + gps


def dirty_png(orientation: int = 8) -> bytes:
    """A PNG with eXIf (orientation and GPS), an ImageMagick raw EXIF profile, XMP and tIME."""
    buffer = io.BytesIO()
    _gradient(32, 24).save(buffer, "PNG")
    data = buffer.getvalue()
    header_end = 8 + 25
    extra = (png_chunk(b"eXIf", exif_tiff_with_gps(orientation))
             + png_chunk(b"tEXt", b"Raw profile type exif\x00\nexif\n   8\n45786966\n")
             + png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP[29:])
             + png_chunk(b"tIME", b"\x07\xea\x0b\x16\x09\x00\x00"))
    return data[:header_end] + extra + data[header_end:] + b"trailing bytes"


def scan_data(jpeg: bytes) -> bytes:
    """Everything from the picture's first start-of-scan segment to its end-of-image marker,
    found by walking the segments (a thumbnail inside a segment has markers of its own)."""
    position = 2
    while jpeg[position + 1] != 0xDA:
        position += 2 + struct.unpack(">H", jpeg[position + 2:position + 4])[0]
    end = jpeg.index(b"\xff\xd9", position) + 2
    while True:  # the last EOI before any trailing data: scan data never contains FF D9
        following = jpeg.find(b"\xff\xd9", end)
        if following < 0 or jpeg[end:following].find(b"\xff\xd8") >= 0 or end == len(jpeg):
            break
        end = following + 2
    return jpeg[position:end]


def idat_data(png: bytes) -> bytes:
    chunks, position = [], 8
    while position < len(png) - 12:
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        if kind == b"IDAT":
            chunks.append(png[position + 8:position + 8 + length])
        if kind == b"IEND":
            break
        position += 12 + length
    return b"".join(chunks)


def _drawn_face(size: int) -> Image.Image:
    """A plain drawn face (bright oval, dark eye sockets, bright nose bridge) that OpenCV's
    frontal face cascades both detect: no photograph of a real person is needed."""
    from PIL import ImageDraw, ImageFilter  # noqa: PLC0415

    scale = size / 240
    face = Image.new("L", (size, size), 70)
    draw = ImageDraw.Draw(face)

    def box(left, top, right, bottom):
        return [left * scale, top * scale, right * scale, bottom * scale]

    draw.ellipse(box(40, 20, 200, 230), fill=200)
    for x in (70, 135):
        draw.ellipse(box(x, 88, x + 38, 112), fill=55)
        draw.ellipse(box(x + 12, 94, x + 26, 106), fill=20)
    draw.rectangle(box(112, 90, 128, 150), fill=215)
    draw.ellipse(box(100, 150, 140, 165), fill=120)
    draw.ellipse(box(85, 178, 155, 196), fill=90)
    draw.rectangle(box(60, 75, 105, 82), fill=80)
    draw.rectangle(box(135, 75, 180, 82), fill=80)
    return face.filter(ImageFilter.GaussianBlur(4 * scale))


def photo_with_face(size: int = 240, orientation: int = 1, kind: str = "JPEG") -> bytes:
    """A photo showing one face, upright when displayed. With orientation 6 the pixels are
    stored turned (as a phone held sideways stores them) and EXIF says how to turn them back."""
    canvas = Image.new("L", (size * 2, size * 2), 110)
    canvas.paste(_drawn_face(size), (size // 2, size // 3))
    picture = canvas.convert("RGB")
    exif = Image.Exif()
    if orientation == 6:
        picture = picture.transpose(Image.Transpose.ROTATE_90)
        exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, kind, **({"exif": exif} if kind == "JPEG" else {}))
    return buffer.getvalue()


def dirty_webp(orientation: int = 6, lossless: bool = False) -> bytes:
    """An extended WebP with EXIF (orientation and GPS) and XMP (GPS and city)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    buffer = io.BytesIO()
    _gradient(48, 32).save(buffer, "WEBP", exif=exif, xmp=XMP[29:], lossless=lossless)
    return buffer.getvalue()


def dirty_gif() -> bytes:
    """An animated GIF with a comment and an XMP application extension."""
    frames = [_gradient(24, 16).convert("P"), _gradient(24, 16).rotate(180).convert("P")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], loop=0,
                   comment=b"Taken at 1 Example Road by A. Photographer")
    data = buffer.getvalue()
    xmp = b"\x21\xff\x0bXMP DataXMP" + bytes([len(XMP[29:80])]) + XMP[29:80] + b"\x00"
    trailer = data.rindex(b"\x3b")
    return data[:trailer] + xmp + data[trailer:] + b"trailing"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def movie_with_location(timed_metadata: bool = False) -> bytes:
    """A small MP4 with a video and a sound track whose movie carries QuickTime location in
    UserData (©xyz), Keys/ItemList (com.apple.quicktime.location.ISO6709) and XMP, as a
    phone's videos do; with `timed_metadata`, a GPS track too (tests/movies.py builds it)."""
    from tests.movies import gps, movie, sound, video  # noqa: PLC0415

    return movie([video(), sound()] + ([gps()] if timed_metadata else []))


def dirty_tiff(orientation: int = 8) -> bytes:
    """A TIFF with camera, artist and orientation tags (Pillow writes no GPS directory into a
    TIFF; the GPS TIFFs of the camera test sets cover that)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ExampleCam"
    exif[0x013B] = "A. Photographer"
    buffer = io.BytesIO()
    _gradient(40, 30).save(buffer, "TIFF", exif=exif)
    return buffer.getvalue()


# -- hostile headers: files whose headers disagree about the picture's size ----------------------

def plain_jpeg(width: int = 16, height: int = 16) -> bytes:
    """A JPEG straight from Pillow: no metadata beyond JFIF."""
    buffer = io.BytesIO()
    _gradient(width, height).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg_segment_at(jpeg: bytes, markers: tuple[int, ...]) -> tuple[int, int]:
    """(start, end) of the first segment with one of `markers`, walking the segments."""
    position = 2
    while jpeg[position + 1] not in markers:
        position += 2 + struct.unpack(">H", jpeg[position + 2:position + 4])[0]
    return position, position + 2 + struct.unpack(">H", jpeg[position + 2:position + 4])[0]


def with_frame_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its (first) frame header claiming another size."""
    start, _ = jpeg_segment_at(jpeg, (0xC0, 0xC2))
    return jpeg[:start + 5] + struct.pack(">HH", height, width) + jpeg[start + 9:]


def jpeg_with_two_frame_headers(claimed: int = 30000, between_scans: bool = True) -> bytes:
    """The decompression bomb of the security issue: a first frame header claiming
    `claimed` x `claimed` pixels (what OpenCV allocates and decodes), a scan, then a second,
    honest 16 x 16 frame header with its scan (what a cleaner keeping the last one reports).
    With `between_scans` False, the two frame headers stand next to each other."""
    small = plain_jpeg(16, 16)
    start, end = jpeg_segment_at(small, (0xC0,))
    honest = small[start:end]
    claiming = honest[:5] + struct.pack(">HH", claimed, claimed) + honest[9:]
    scan = jpeg_segment_at(small, (0xDA,))[0]
    if not between_scans:
        return small[:start] + claiming + small[start:]
    return small[:start] + claiming + small[end:scan] + small[scan:-2] + honest + small[scan:]


def png_chunks_of(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        chunks.append((kind, png[position + 8:position + 8 + length]))
        position += 12 + length
    return chunks


def png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(kind, data) for kind, data in chunks)


def plain_png(width: int = 20, height: int = 10, frames: int = 1) -> bytes:
    """A PNG from Pillow; with `frames` > 1 an animated PNG (acTL, fcTL, fdAT)."""
    images = [_gradient(width, height).rotate(90 * index) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PNG", save_all=frames > 1, append_images=images[1:])
    return buffer.getvalue()


def png_with_second_header(width: int, height: int) -> bytes:
    """A PNG with a second IHDR (claiming another size) after its first."""
    chunks = png_chunks_of(plain_png())
    second = struct.pack(">II", width, height) + chunks[0][1][8:]
    return png_from_chunks(chunks[:1] + [(b"IHDR", second)] + chunks[1:])


def apng_with_frame_size(width: int, height: int) -> bytes:
    """An animated PNG whose second frame control chunk claims `width` x `height`."""
    chunks = png_chunks_of(plain_png(frames=2))
    index = [kind for kind, _ in chunks].index(b"fcTL", 3)
    data = chunks[index][1]
    chunks[index] = (b"fcTL", data[:4] + struct.pack(">II", width, height) + data[12:])
    return png_from_chunks(chunks)


def gif_with_frame_at(left: int, top: int, width: int, height: int) -> bytes:
    """The dirty GIF with its first frame's image descriptor moved and resized."""
    data = bytearray(dirty_gif())
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0)
    while data[position] != 0x2C:  # skip extensions before the first image
        position += 2
        while data[position]:
            position += 1 + data[position]
        position += 1
    data[position + 1:position + 9] = struct.pack("<HHHH", left, top, width, height)
    return bytes(data)


def webp_chunks(webp: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 12
    while position + 8 <= len(webp):
        kind, length = struct.unpack("<4sI", webp[position:position + 8])
        chunks.append((kind, webp[position + 8:position + 8 + length]))
        position += 8 + length + (length % 2)
    return chunks


def webp_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def webp_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP" + b"".join(webp_chunk(kind, payload) for kind, payload in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def plain_webp(width: int = 40, height: int = 30, lossless: bool = False,
               frames: int = 1) -> bytes:
    """A WebP from Pillow: simple (VP8 or VP8L) for one frame, animated (ANMF) for more."""
    images = [_gradient(width, height).rotate(90 * index) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", lossless=lossless, save_all=frames > 1,
                   append_images=images[1:])
    return buffer.getvalue()


def vp8x(flags: int, width: int, height: int) -> tuple[bytes, bytes]:
    return (b"VP8X", bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
            + (height - 1).to_bytes(3, "little"))


def webp_with_canvas(width: int, height: int, lossless: bool = False) -> bytes:
    """An extended still WebP whose canvas (VP8X) claims another size than its picture."""
    return webp_from_chunks([vp8x(0, width, height), *webp_chunks(plain_webp(lossless=lossless))])


def animated_webp_with_canvas(width: int, height: int) -> bytes:
    """An animated WebP whose canvas claims `width` x `height` around 40 x 30 frames."""
    chunks = webp_chunks(plain_webp(frames=2))
    flags = chunks[0][1][0]
    return webp_from_chunks([vp8x(flags, width, height), *chunks[1:]])


def animated_webp_with_frame_at(x: int, y: int) -> bytes:
    """An animated WebP whose second frame is placed at (x, y) (in pixels, even) on its canvas."""
    chunks = webp_chunks(plain_webp(frames=2))
    index = [kind for kind, _ in chunks].index(b"ANMF", 3)
    frame = chunks[index][1]
    chunks[index] = (b"ANMF", (x // 2).to_bytes(3, "little") + (y // 2).to_bytes(3, "little")
                     + frame[6:])
    return webp_from_chunks(chunks)


def exif_with_gps_and_serial(orientation: int = 1) -> bytes:
    """A TIFF (EXIF) block with orientation, camera, serial number and GPS coordinates."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ExampleCam"
    exif.get_ifd(0x8769)[0xA431] = "SERIAL-0042"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    return exif.tobytes()[6:]  # without the "Exif\0\0" of JPEG's APP1


def animated_webp_with_metadata_in_frames() -> bytes:
    """The animated WebP of the security issue: EXIF (GPS, serial number), XMP and an unknown
    chunk inside each ANMF frame, where a cleaner copying ANMF verbatim leaves them."""
    chunks = webp_chunks(plain_webp(frames=2))
    hidden = (webp_chunk(b"EXIF", exif_with_gps_and_serial()) + webp_chunk(b"XMP ", XMP[29:])
              + webp_chunk(b"ZZZZ", b"51.5007N 0.1246W"))
    return webp_from_chunks([(kind, payload + hidden if kind == b"ANMF" else payload)
                             for kind, payload in chunks])


# -- colour profiles: where text and whole archives can hide -------------------------------------

def srgb_profile() -> bytes:
    """A standard sRGB profile (version 4, made by LittleCMS through Pillow)."""
    from PIL import ImageCms  # noqa: PLC0415

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def zip_archive() -> bytes:
    """A small ZIP archive holding a note with coordinates."""
    import zipfile  # noqa: PLC0415

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("where.txt", "51.5007N 0.1246W, Examplebury, by A. Photographer")
    return buffer.getvalue()


def profile_tags(profile: bytes) -> list[tuple[bytes, bytes]]:
    """The (signature, data) of each tag in a profile's table."""
    count = struct.unpack(">I", profile[128:132])[0]
    tags = []
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", profile[132 + 12 * index:144 + 12 * index])
        tags.append((signature, profile[offset:offset + size]))
    return tags


def assemble_profile(header: bytes, tags: list[tuple[bytes, bytes]], unused: bytes = b"") -> bytes:
    """A profile from a header and tags; `unused` bytes lie inside it, after the tags, where no
    tag points (the profile's size covers them)."""
    table_end = 132 + 12 * len(tags)
    data, entries = b"", b""
    for signature, content in tags:
        entries += struct.pack(">4sII", signature, table_end + len(data), len(content))
        data += content + bytes(-len(content) % 4)
    body = header[4:128] + struct.pack(">I", len(tags)) + entries + data + unused
    return struct.pack(">I", 4 + len(body)) + body


def mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return (b"mluc\x00\x00\x00\x00" + struct.pack(">II", 1, 12) + b"enUS"
            + struct.pack(">II", len(encoded), 28) + encoded)


def profile_with_hidden_data() -> bytes:
    """An sRGB profile carrying text of an attacker's choice in its description, copyright, device
    and private tags and header fields, a ZIP archive in a private tag, and another ZIP archive
    where no tag points."""
    standard = srgb_profile()
    header = bytearray(standard[:128])
    header[48:56] = b"51.5N0.1"  # device maker and model: 8 bytes of anything
    header[80:84] = b"APho"  # creator
    header[100:128] = b"Examplebury, 1 Example Road".ljust(28, b"\x00")  # reserved
    tags = [(b"desc", mluc("Taken at 51.5007N 0.1246W")), (b"cprt", mluc("A. Photographer"))]
    tags += [(signature, data) for signature, data in profile_tags(standard)
             if signature not in (b"desc", b"cprt")]
    tags += [(b"dmdd", mluc("ExampleCam Model 7, serial SERIAL-0042")),
             (b"zzzz", b"zzzz\x00\x00\x00\x00" + zip_archive())]
    return assemble_profile(bytes(header), tags, unused=zip_archive())


def jpeg_with_profile(profile: bytes, width: int = 32, height: int = 24,
                      trailing: bytes = b"") -> bytes:
    """A JPEG whose APP2 segments carry `profile` (split as Pillow splits it), followed in its
    last piece by `trailing` bytes."""
    buffer = io.BytesIO()
    _gradient(width, height).save(buffer, "JPEG", icc_profile=profile + trailing)
    return buffer.getvalue()


def png_with_profile(profile: bytes, name: bytes = b"ICC Profile", after: bytes = b"") -> bytes:
    """A PNG with an iCCP chunk named `name`; `after` follows the compressed stream inside it."""
    chunks = png_chunks_of(plain_png())
    iccp = name + b"\x00\x00" + zlib.compress(profile) + after
    return png_from_chunks(chunks[:1] + [(b"iCCP", iccp)] + chunks[1:])


def webp_with_profile(profile: bytes) -> bytes:
    buffer = io.BytesIO()
    _gradient(40, 30).save(buffer, "WEBP", icc_profile=profile)
    return buffer.getvalue()


def gif_with_hidden_blocks() -> bytes:
    """The dirty GIF with text hidden where GIF readers skip it: an extra sub-block in its
    NETSCAPE2.0 looping extension and in a graphic control extension, and a plain-text
    extension (drawn by almost no reader, read by every parser)."""
    data = dirty_gif()
    loop = data.index(b"NETSCAPE2.0") + 11
    assert data[loop:loop + 5] == b"\x03\x01\x00\x00\x00"
    hidden = b"51.5007N 0.1246W"
    data = data[:loop + 4] + bytes([len(hidden)]) + hidden + data[loop + 4:]
    control = data.index(b"\x21\xf9\x04")
    data = data[:control + 7] + bytes([len(hidden)]) + hidden + data[control + 7:]
    text = (b"\x21\x01\x0c" + bytes(12) + bytes([len(b"Examplebury")]) + b"Examplebury" + b"\x00")
    trailer = data.rindex(b"\x3b")
    return data[:trailer] + b"\x21\xf9\x04\x00\x00\x00\x00\x00" + text + data[trailer:]


def tiff_with_directories_out_of_order() -> bytes:
    """A two-page greyscale TIFF whose first directory (IFD0: 4 x 3 pixels, what decoders show)
    lies after its second (2 x 1) in the file."""
    def directory(width: int, height: int, pixels_at: int, next_at: int) -> bytes:
        entries = [(0x100, width), (0x101, height), (0x102, 8), (0x103, 1), (0x106, 1),
                   (0x111, pixels_at), (0x115, 1), (0x116, height), (0x117, width * height)]
        return (struct.pack("<H", len(entries))
                + b"".join(struct.pack("<HHIHH", tag, 3, 1, value, 0) for tag, value in entries)
                + struct.pack("<I", next_at))
    second = directory(2, 1, 122, 0)  # at 8, 114 bytes long
    first = directory(4, 3, 124, 8)  # at 136
    return b"II*\x00" + struct.pack("<I", 136) + second + b"\x10\x20" + bytes(range(0, 240, 20)) \
        + first


HIDDEN_TEXT = (b"51.5007N", b"Photographer", b"SERIAL-0042", b"Examplebury", b"51.5N0.1", b"APho",
               b"ExampleCam")


def hostile_samples() -> dict[str, bytes]:
    """Every hostile file of the security issue's findings 4 and 5, by name: each must be
    refused, or cleaned with none of HIDDEN_TEXT and no ZIP archive left in it."""
    hidden_profile = profile_with_hidden_data()
    adobe = segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + b"51.5007N " + zip_archive())
    small = plain_jpeg(24, 16)
    return {
        "two JPEG frame headers": jpeg_with_two_frame_headers(30000),
        "two adjacent JPEG frame headers": jpeg_with_two_frame_headers(30000, between_scans=False),
        "second PNG header": png_with_second_header(30000, 30000),
        "APNG frame beyond the picture": apng_with_frame_size(30000, 30000),
        "GIF frame beyond the screen": gif_with_frame_at(10, 20, 3000, 2000),
        "still WebP canvas unlike its picture": webp_with_canvas(16000, 16000),
        "WebP frame outside the canvas": animated_webp_with_frame_at(30, 30),
        "WebP with metadata inside its frames": animated_webp_with_metadata_in_frames(),
        "JPEG colour profile with text and ZIPs": jpeg_with_profile(hidden_profile),
        "ZIP after a JPEG colour profile": jpeg_with_profile(srgb_profile(),
                                                             trailing=zip_archive()),
        "PNG colour profile named with coordinates": png_with_profile(
            hidden_profile, name=b"51.5007N 0.1246W", after=zip_archive()),
        "WebP colour profile with text and ZIPs": webp_with_profile(hidden_profile),
        "long Adobe segment": small[:2] + adobe + small[2:],
        "GIF with hidden sub-blocks": gif_with_hidden_blocks(),
        "TIFF directories out of order": tiff_with_directories_out_of_order(),
        "TIFF colour profile with text and ZIPs": tiff_with_profile(hidden_profile),
    }


def tiff_with_profile(profile: bytes) -> bytes:
    buffer = io.BytesIO()
    _gradient(40, 30).save(buffer, "TIFF", icc_profile=profile)
    return buffer.getvalue()
