#!/usr/bin/env python3
"""Regenerates fixtures/portraits/*.jpg|png and fixtures/jobs/**.json (synthetic people only).

The portraits are drawn shapes (a silhouette on a plain background), not photographs of anyone.
The names, numbers and dates are invented. Usage: pip install pillow==13.0.0 &&
python3 scripts/gen-fixtures.py
"""
import base64
import io
import json
import pathlib

from PIL import Image, ImageDraw

ROOT = pathlib.Path(__file__).resolve().parent.parent / "fixtures"


def portrait(width: int, height: int, skin: tuple, fmt: str) -> bytes:
    """A 35:45 silhouette: background, shoulders, neck, head, hair; deterministic."""
    img = Image.new("RGB", (width, height), (226, 232, 240))
    d = ImageDraw.Draw(img)
    cx = width // 2
    d.ellipse([cx - width * 0.45, height * 0.78, cx + width * 0.45, height * 1.25], fill=(40, 60, 110))
    d.rectangle([cx - width * 0.09, height * 0.55, cx + width * 0.09, height * 0.82], fill=skin)
    d.ellipse([cx - width * 0.24, height * 0.16, cx + width * 0.24, height * 0.68], fill=skin)
    d.chord([cx - width * 0.26, height * 0.12, cx + width * 0.26, height * 0.52], 180, 360, fill=(30, 25, 20))
    for ex in (-0.09, 0.09):
        d.ellipse([cx + width * (ex - 0.03), height * 0.38, cx + width * (ex + 0.03), height * 0.42], fill=(20, 20, 20))
    d.arc([cx - width * 0.08, height * 0.50, cx + width * 0.08, height * 0.58], 20, 160, fill=(120, 40, 40), width=3)
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=90)
    else:
        img.save(buf, "PNG")
    return buf.getvalue()


def photo_like(width: int, height: int) -> bytes:
    """The silhouette with photographic texture: soft lighting gradients, blur and sensor-like
    noise (seeded), so that JPEG sizes resemble a real portrait's; still no real person."""
    import random

    from PIL import ImageFilter

    base = Image.open(io.BytesIO(portrait(width, height, (190, 150, 115), "PNG"))).convert("RGB")
    light = Image.linear_gradient("L").resize((width, height)).rotate(90)
    base = Image.composite(base, Image.new("RGB", (width, height), (120, 110, 100)), light.point(lambda v: 200 + v // 5))
    base = base.filter(ImageFilter.GaussianBlur(2))
    rng = random.Random(9303)
    noise = Image.frombytes("L", (width, height), bytes(rng.randrange(0, 24) for _ in range(width * height)))
    base = Image.composite(base, Image.new("RGB", (width, height), (0, 0, 0)), noise.point(lambda v: 255 - v))
    buf = io.BytesIO()
    base.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def job(job_id, portrait_bytes, media_type, **doc):
    document = {
        "code": "P",
        "issuing_state": "IDN",
        "nationality": "IDN",
        "personal_number": "",
    }
    document.update(doc)
    return {
        "schema": 1,
        "job_id": job_id,
        "document": document,
        "portrait": {"media_type": media_type, "data": base64.b64encode(portrait_bytes).decode()},
    }


def write(path: pathlib.Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    jpeg = portrait(413, 531, (205, 160, 120), "JPEG")
    png = portrait(354, 455, (180, 135, 100), "PNG")
    (ROOT / "portraits").mkdir(parents=True, exist_ok=True)
    (ROOT / "portraits" / "silhouette-413x531.jpg").write_bytes(jpeg)
    (ROOT / "portraits" / "silhouette-354x455.png").write_bytes(png)
    # The benchmark's portrait: 600 x 800 JPEG (3:4, cropped to 35:45 by the layout), with
    # photographic texture so that sizes are realistic.
    (ROOT / "portraits" / "silhouette-600x800.jpg").write_bytes(photo_like(600, 800))

    # Broken images for the portrait tests (fixtures/portraits/bad/).
    bad = ROOT / "portraits" / "bad"
    bad.mkdir(parents=True, exist_ok=True)
    (bad / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (bad / "zero-bytes.jpg").write_bytes(b"")
    (bad / "not-an-image.jpg").write_bytes(b"This is a text file, not a portrait.\n")
    cmyk = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).convert("CMYK").save(cmyk, "JPEG", quality=80)
    (bad / "cmyk.jpg").write_bytes(cmyk.getvalue())
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    (bad / "claims-20000x20000.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    (bad / "png-declared-as-jpeg.jpg").write_bytes(png)

    valid = ROOT / "jobs" / "valid"
    budi = job("SMD-2026-000123", jpeg, "image/jpeg",
               number="X1234567", surname="Santoso", given_names="Budi",
               date_of_birth="1990-01-01", sex="M", place_of_birth="SAMARINDA",
               date_of_issue="2025-01-01", date_of_expiry="2035-01-01", authority="SAMARINDA",
               registration_number="2C11JA0123456")
    write(valid / "santoso-budi.json", budi)
    write(valid / "partini.json", job(
        "SMD-2026-000124", png, "image/png",
        number="X7654321", surname="Partini", given_names="",
        date_of_birth="1952-08-17", sex="F", place_of_birth="KUTAI KARTANEGARA",
        date_of_issue="2025-01-01", date_of_expiry="2030-01-01", authority="SAMARINDA"))
    write(valid / "lestari-putri-ayu-minor.json", job(
        "BPN-2026-000007", jpeg, "image/jpeg",
        number="X2468013", surname="Lestari", given_names="Putri Ayu",
        date_of_birth="2015-03-10", sex="F", place_of_birth="BALIKPAPAN",
        date_of_issue="2026-02-02", date_of_expiry="2031-02-02", authority="BALIKPAPAN",
        personal_number="64710150031500"))
    write(valid / "prawirodirjo-long-name.json", job(
        "JKT-2026-001001", jpeg, "image/jpeg",
        number="X1357924", surname="Prawirodirjo",
        given_names="Raden Mas Bagus Wicaksono Adiningrat",
        date_of_birth="1985-11-30", sex="M", place_of_birth="YOGYAKARTA",
        date_of_issue="2026-01-15", date_of_expiry="2036-01-15", authority="JAKARTA PUSAT",
        married=True))
    # ICAO-valid punctuation (hyphen, period, apostrophe) that the Indonesian policy refuses.
    write(ROOT / "jobs" / "policy" / "nuraini-punctuation.json", job(
        "SBY-2026-000042", png, "image/png",
        number="C0102030", surname="Siregar-Pane", given_names="M. Nur'aini Sitompul",
        date_of_birth="2007-07-04", sex="F", place_of_birth="MEDAN",
        date_of_issue="2026-03-01", date_of_expiry="2036-03-01", authority="SURABAYA"))

    invalid = ROOT / "jobs" / "invalid"
    def variant(name, change):
        j = json.loads(json.dumps(budi))
        change(j)
        write(invalid / name, j)
    variant("expiry-before-issue.json", lambda j: j["document"].update(date_of_expiry="2024-12-31"))
    variant("not-a-calendar-date.json", lambda j: j["document"].update(date_of_birth="1990-02-30"))
    variant("date-format.json", lambda j: j["document"].update(date_of_issue="01/01/2025"))
    variant("cyrillic-surname.json", lambda j: j["document"].update(surname="Иванов"))
    variant("digit-in-given-names.json", lambda j: j["document"].update(given_names="Budi 2"))
    variant("unknown-field.json", lambda j: j["document"].update(middle_name="Agus"))
    variant("lower-case-number.json", lambda j: j["document"].update(number="x1234567"))
    variant("unknown-state.json", lambda j: j["document"].update(issuing_state="IDX", nationality="idn"))
    variant("bad-sex.json", lambda j: j["document"].update(sex="L"))
    variant("schema-2.json", lambda j: j.update(schema=2))
    variant("bad-job-id.json", lambda j: j.update(job_id="SMD 2026/000123"))
    variant("portrait-mismatch.json", lambda j: j["portrait"].update(media_type="image/png"))
    variant("portrait-not-base64.json", lambda j: j["portrait"].update(data="not base64!"))
    variant("missing-fields.json", lambda j: [j["document"].pop(k) for k in ("surname", "number", "sex")])
    variant("many-problems.json", lambda j: (
        j["document"].update(date_of_expiry="2024-12-31", surname="Иванов", number="x1", sex="?"),
        j.update(extra=True)))
    (invalid / "duplicate-key.json").write_text(
        '{"schema": 1, "job_id": "A", "job_id": "B", "document": {}}\n', encoding="utf-8")
    (invalid / "not-json.json").write_text("{ this is not json\n", encoding="utf-8")

    policy = ROOT / "jobs" / "policy"
    def pvariant(name, change):
        j = json.loads(json.dumps(budi))
        change(j)
        write(policy / name, j)
    pvariant("ten-years-for-a-minor.json", lambda j: j["document"].update(
        date_of_birth="2012-05-05", date_of_issue="2026-01-10", date_of_expiry="2036-01-10"))
    pvariant("seven-year-validity.json", lambda j: j["document"].update(date_of_expiry="2032-01-01"))
    pvariant("utopia-specimen.json", lambda j: j["document"].update(
        issuing_state="UTO", nationality="UTO", number="L898902C3", surname="Eriksson",
        given_names="Anna Maria", sex="F", date_of_birth="1974-08-12", date_of_issue="2002-04-16",
        date_of_expiry="2012-04-15", personal_number="ZE184226B"))
    pvariant("issued-in-the-future.json", lambda j: j["document"].update(
        date_of_issue="2099-01-01", date_of_expiry="2099-06-01"))


if __name__ == "__main__":
    main()
