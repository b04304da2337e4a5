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
    """A minimal MP4 whose movie carries QuickTime location in UserData (©xyz), Keys/ItemList
    (com.apple.quicktime.location.ISO6709) and XMP, as a phone's videos do."""
    location = b"+51.5007-000.1246/"
    udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(location), 0x15c7) + location)
               + box(b"\xa9mak", struct.pack(">HH", 10, 0x15c7) + b"ExampleCam"))
    keys = box(b"keys", b"\x00\x00\x00\x00" + struct.pack(">I", 1)
               + box(b"mdta", b"com.apple.quicktime.location.ISO6709"))
    ilst = box(b"ilst", box(struct.pack(">I", 1), box(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00"
                                                    + location)))
    meta = box(b"meta", box(b"hdlr", b"\x00" * 8 + b"mdta" + b"\x00" * 13) + keys + ilst)
    mvhd = box(b"mvhd", b"\x00" * 100)
    tracks = b""
    if timed_metadata:
        tracks = box(b"trak", box(b"mdia", box(b"hdlr", b"\x00" * 8 + b"meta" + b"\x00" * 13)))
    moov = box(b"moov", mvhd + udta + meta + tracks)
    xmp = box(b"uuid", bytes.fromhex("be7acfcb97a942e89c71999491e3afac") + XMP[29:])
    return (box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"mdat", b"\x00\x11" * 500)
            + moov + xmp)


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
