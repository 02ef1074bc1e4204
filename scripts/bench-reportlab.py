#!/usr/bin/env python3
"""The reportlab peer of the data page benchmarks.

Default mode (the reference figure of issue 3): the same data page laid out with Python reportlab,
timed in-process on this machine, to compare with `cargo bench --bench page` (pdf_from_page_model).
The page: the SANTOSO / BUDI fixture's texts at the template's positions and sizes, the same
DejaVu fonts, OCR-B converted to TrueType outlines (reportlab cannot embed CFF fonts), and the
600 x 800 benchmark JPEG embedded directly (reportlab passes JPEG through).

    python3 scripts/bench-reportlab.py

Batch mode (the peer of `pstation render J1.json ... JN.json --out-dir DIR`, timed as a whole
process by scripts/bench-render.py): imports, font registration, then for each job file: read and
parse the JSON, decode the base64 portrait, lay out the station's data page from the job
(templates/idn-td3.toml positions and sizes, values formatted as src/layout/build.rs does, both
MRZ lines computed here), and write DIR/<job_id>.pdf as the station does (temporary file, fsync,
rename, fsync of the folder). The portrait JPEG is passed through unchanged, clipped to the
35 x 45 mm box and scaled to cover it (centre crop, never stretched); the ghost image is made with
Pillow (centre crop, greyscale, bicubic to 106 x 137 px, faded, JPEG q90) from the one decode of
the portrait. Tuned as a peer should be: rl_accel (reportlab's C accelerators) installed, streams
written binary (rl_config.useA85 = 0) as the station's are, fonts registered once per process.
The OCR-B conversion is done once beforehand so that its cost is not charged to each run:

    python3 scripts/bench-reportlab.py --make-ocrb /tmp/OCRB.ttf
    python3 scripts/bench-reportlab.py --batch --ocrb /tmp/OCRB.ttf --out-dir DIR J1.json ... JN.json

Requires: pip install reportlab==5.1.0 rl_accel==0.9.1 fonttools==4.68.0 pillow==13.0.0
"""
import argparse
import base64
import io
import json
import os
import pathlib
import statistics
import tempfile
import time

from PIL import Image
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as RLFont
from reportlab.pdfgen import canvas

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ocrb_as_ttf(path: pathlib.Path) -> None:
    """OCR-B (CFF) to glyf outlines, as fontTools' otf2ttf example does."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(ROOT / "assets/fonts/OCRB.otf")
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    font["maxp"].tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(font["maxp"], attr, 0)
    font["maxp"].maxZones = 1
    font["maxp"].maxComponentDepth = 0
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font["post"].glyphOrder = glyph_order
    del font["CFF "]
    font.sfntVersion = "\x00\x01\x00\x00"
    font.save(path)


def page(portrait: pathlib.Path) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(125 * mm, 88 * mm))
    c.drawImage(str(portrait), 2 * mm, 30.55 * mm, 35 * mm, 45 * mm)
    c.setFont("DejaVuBold", 8)
    c.drawCentredString(62.5 * mm, 83.6 * mm, "REPUBLIK INDONESIA / REPUBLIC OF INDONESIA")
    c.drawCentredString(62.5 * mm, 80.9 * mm, "PASPOR / PASSPORT")
    fields = [
        (38, 79.65, "Jenis / ", "Type", "P"), (52, 79.65, "Kode Negara / ", "Country Code", "IDN"),
        (81, 79.65, "No. Paspor / ", "Passport No.", "X1234567"), (38, 73.30, "Nama Lengkap / ", "Full Name", "BUDI SANTOSO"),
        (38, 60.60, "Kewarganegaraan / ", "Nationality", "INDONESIA"), (81, 60.60, "Tgl. Lahir / ", "Date of Birth", "01 JAN 1990"),
        (38, 54.25, "Jenis Kelamin / ", "Sex", "L/M"), (59, 54.25, "Tempat Lahir / ", "Place of Birth", "SAMARINDA"),
        (38, 47.90, "Tgl. Pengeluaran / ", "Date of Issue", "01 JAN 2025"), (81, 47.90, "Tgl. Habis Berlaku / ", "Date of Expiry", "01 JAN 2035"),
        (38, 41.55, "No. Reg. / ", "Reg. No.", "2C11JA0123456"), (81, 41.55, "Kantor yang Mengeluarkan / ", "Issuing Office", "SAMARINDA"),
    ]
    for x, row, national, english, value in fields:
        c.setFont("DejaVu", 5.2)
        c.drawString(x * mm, (row - 1.9) * mm, national)
        w = pdfmetrics.stringWidth(national, "DejaVu", 5.2)
        c.setFont("DejaVuOblique", 5.2)
        c.drawString(x * mm + w, (row - 1.9) * mm, english)
        c.setFont("DejaVu", 8.5)
        c.drawString(x * mm, (row - 5.1) * mm, value)
    c.setFont("OCRB", 7.2 / 0.723)
    c.drawString(6 * mm, 14.52 * mm, "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<")
    c.drawString(6 * mm, 8.17 * mm, "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02")
    c.showPage()
    c.save()
    return buf.getvalue()


def register_fonts(ocrb: pathlib.Path) -> None:
    pdfmetrics.registerFont(RLFont("OCRB", str(ocrb)))
    pdfmetrics.registerFont(RLFont("DejaVu", str(ROOT / "assets/fonts/DejaVuSans-LatinA.ttf")))
    pdfmetrics.registerFont(RLFont("DejaVuBold", str(ROOT / "assets/fonts/DejaVuSans-Bold-LatinA.ttf")))
    pdfmetrics.registerFont(RLFont("DejaVuOblique", str(ROOT / "assets/fonts/DejaVuSans-Oblique-LatinA.ttf")))


# --- Batch mode: the station's data page from a job file --------------------------------------
# Every figure below is templates/idn-td3.toml's (mm from the bottom-left corner, sizes in pt) or
# the fixed ICAO MRZ geometry of src/layout/build.rs.
PAGE_W, PAGE_H, PRINT_DPI = 125.0, 88.0, 300
CAPTION_PT, VALUE_PT, HEADER_PT = 5.2, 8.5, 8.0
CAPTION_DROP, VALUE_DROP, SEPARATOR = 1.9, 5.1, " / "
MIN_PITCH_MM = 25.4 / 15.0  # values denser than 15 characters per inch are letter-spaced
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
SEX = {"M": "L/M", "F": "P/F", "X": "X"}
NATIONALITY = {"IDN": "INDONESIA"}
NAME_MAX_CHARS = 34
HEADER = [  # (national, English, centre x, baseline y)
    ("REPUBLIK INDONESIA", "REPUBLIC OF INDONESIA", 62.5, 83.6),
    ("PASPOR", "PASSPORT", 62.5, 80.9),
]
FIELDS = [  # (datum, national caption, English caption, x, row top, line pitch of a wrapped value)
    ("type", "Jenis", "Type", 38.0, 79.65, 0.0),
    ("issuing_state_code", "Kode Negara", "Country Code", 52.0, 79.65, 0.0),
    ("number", "No. Paspor", "Passport No.", 81.0, 79.65, 0.0),
    ("name", "Nama Lengkap", "Full Name", 38.0, 73.30, 3.6),
    ("nationality", "Kewarganegaraan", "Nationality", 38.0, 60.60, 0.0),
    ("date_of_birth", "Tgl. Lahir", "Date of Birth", 81.0, 60.60, 0.0),
    ("sex", "Jenis Kelamin", "Sex", 38.0, 54.25, 0.0),
    ("place_of_birth", "Tempat Lahir", "Place of Birth", 59.0, 54.25, 0.0),
    ("date_of_issue", "Tgl. Pengeluaran", "Date of Issue", 38.0, 47.90, 0.0),
    ("date_of_expiry", "Tgl. Habis Berlaku", "Date of Expiry", 81.0, 47.90, 0.0),
    ("registration_number", "No. Reg.", "Reg. No.", 38.0, 41.55, 0.0),
    ("authority", "Kantor yang Mengeluarkan", "Issuing Office", 81.0, 41.55, 0.0),
]
PORTRAIT_BOX = (2.0, 30.55, 35.0, 45.0)
GHOST_BOX, GHOST_FADE = (111.0, 24.0, 9.0, 11.57), 0.35
GHOST_PX = (round(9.0 / 25.4 * PRINT_DPI), round(11.57 / 25.4 * PRINT_DPI))  # 106 x 137
GHOST_LUT = [round(255 - (255 - v) * GHOST_FADE) for v in range(256)]  # fade toward white
MRZ_PT = 7.2 / 0.723  # OCR-B advance 0.723 em = 2.54 mm pitch
MRZ_HALF_CAP_MM = 0.701 * MRZ_PT * 25.4 / 72 / 2  # OCR-B cap height 701/1000 em
MRZ_X, MRZ_LINE1_CENTRE, MRZ_LINE2_CENTRE = 6.0, 15.75, 9.40


def check_digit(s: str) -> str:
    """Doc 9303 Part 3 §4.9, as scripts/mrz-line2.py."""
    total = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else 0 if c == "<" else ord(c) - 55
        total += v * (7, 3, 1)[i % 3]
    return str(total % 10)


def mrz_lines(d: dict) -> tuple[str, str]:
    """TD3 lines 1 and 2 (names are plain A-Z and spaces in the benchmark jobs)."""
    name = d["surname"].upper().replace(" ", "<")
    if d["given_names"]:
        name += "<<" + d["given_names"].upper().replace(" ", "<")
    line1 = (d["code"].ljust(2, "<") + d["issuing_state"].ljust(3, "<") + name).ljust(44, "<")[:44]
    yymmdd = lambda iso: iso[2:4] + iso[5:7] + iso[8:10]  # noqa: E731
    number = d["number"].ljust(9, "<")
    birth, expiry = yymmdd(d["date_of_birth"]), yymmdd(d["date_of_expiry"])
    personal = d.get("personal_number", "").ljust(14, "<")
    body = (number + check_digit(number) + d["nationality"].ljust(3, "<") + birth + check_digit(birth)
            + {"X": "<"}.get(d["sex"], d["sex"]) + expiry + check_digit(expiry)
            + personal + check_digit(personal))
    return line1, body + check_digit(body[0:10] + body[13:20] + body[21:43])


def date_viz(iso: str) -> str:
    return f"{iso[8:10]} {MONTHS[int(iso[5:7]) - 1]} {iso[0:4]}"


def wrap(name: str, limit: int) -> list[str]:
    """The name on lines of at most `limit` characters, broken at spaces (as build.rs wraps)."""
    lines, line = [], ""
    for word in name.split():
        while True:
            sep = 1 if line else 0
            if len(line) + sep + len(word) <= limit:
                line = f"{line} {word}" if line else word
                break
            if line:
                lines.append(line)
                line = ""
                continue
            lines.append(word[:limit])
            word = word[limit:]
    if line:
        lines.append(line)
    return lines


def values(datum: str, d: dict) -> list[str]:
    if datum == "type":
        return [d["code"]]
    if datum == "issuing_state_code":
        return [d["issuing_state"]]
    if datum == "number":
        return [d["number"]]
    if datum == "name":
        full = f"{d['given_names']} {d['surname']}" if d["given_names"] else d["surname"]
        return wrap(full.upper(), NAME_MAX_CHARS)
    if datum == "nationality":
        return [NATIONALITY.get(d["nationality"], d["nationality"])]
    if datum in ("date_of_birth", "date_of_issue", "date_of_expiry"):
        return [date_viz(d[datum])]
    if datum == "sex":
        return [SEX[d["sex"]]]
    if datum in ("place_of_birth", "authority"):
        return [d[datum].upper()]
    reg = d.get("registration_number")  # optional: no caption when absent
    return [reg] if reg else []


def bilingual(c: canvas.Canvas, face: str, size: float, x: float, y: float, national: str,
              english: str, centred: bool) -> None:
    """National text in `face`, the separator, then the English in oblique (both at x, y in mm)."""
    first = national + SEPARATOR
    w1 = pdfmetrics.stringWidth(first, face, size)
    x_pt = x * mm
    if centred:
        x_pt -= (w1 + pdfmetrics.stringWidth(english, "DejaVuOblique", size)) / 2
    c.setFont(face, size)
    c.drawString(x_pt, y * mm, first)
    c.setFont("DejaVuOblique", size)
    c.drawString(x_pt + w1, y * mm, english)


def ghost_jpeg(portrait: Image.Image) -> bytes:
    """Centre crop to the ghost box's aspect, greyscale, 300 dpi, faded, JPEG q90."""
    w, h = portrait.size
    aspect = GHOST_BOX[2] / GHOST_BOX[3]
    if w / h > aspect:
        cw, ch = min(max(round(h * aspect), 1), w), h
    else:
        cw, ch = w, min(max(round(w / aspect), 1), h)
    left, top = (w - cw) // 2, (h - ch) // 2
    grey = portrait.crop((left, top, left + cw, top + ch)).convert("L")
    faded = grey.resize(GHOST_PX, Image.BICUBIC).point(GHOST_LUT)
    out = io.BytesIO()
    faded.save(out, "JPEG", quality=90)
    return out.getvalue()


def data_page(job: dict) -> bytes:
    d = job["document"]
    portrait_jpeg = base64.b64decode(job["portrait"]["data"])
    buf = io.BytesIO()
    # Initial font DejaVu: no unused, unembedded Helvetica in the file.
    c = canvas.Canvas(buf, pagesize=(PAGE_W * mm, PAGE_H * mm), initialFontName="DejaVu")
    c.setTitle(f"TD3 data page {job['job_id']}")

    # Zone V: the JPEG passed through, scaled to cover the box and clipped to it.
    portrait = ImageReader(io.BytesIO(portrait_jpeg))
    x, y, bw, bh = (v * mm for v in PORTRAIT_BOX)
    iw, ih = portrait.getSize()
    scale = max(bw / iw, bh / ih)
    dw, dh = iw * scale, ih * scale
    c.saveState()
    clip = c.beginPath()
    clip.rect(x, y, bw, bh)
    c.clipPath(clip, stroke=0, fill=0)
    c.drawImage(portrait, x + (bw - dw) / 2, y + (bh - dh) / 2, dw, dh)
    c.restoreState()
    # The ghost from the same decoded pixels: drawImage above has already decoded the portrait
    # (reportlab digests the RGB data of an ImageReader), so Pillow does not decode it twice.
    ghost = ImageReader(io.BytesIO(ghost_jpeg(portrait._image)))
    gx, gy, gw, gh = GHOST_BOX
    c.drawImage(ghost, gx * mm, gy * mm, gw * mm, gh * mm)

    # Zone I.
    for national, english, hx, hy in HEADER:
        bilingual(c, "DejaVuBold", HEADER_PT, hx, hy, national, english, centred=True)

    # Zones II and III.
    for datum, national, english, fx, row, pitch in FIELDS:
        texts = values(datum, d)
        if not texts:
            continue
        bilingual(c, "DejaVu", CAPTION_PT, fx, row - CAPTION_DROP, national, english, centred=False)
        c.setFont("DejaVu", VALUE_PT)
        for i, text in enumerate(texts):
            n = max(len(text), 1)
            natural_mm = pdfmetrics.stringWidth(text, "DejaVu", VALUE_PT) / mm
            spacing_mm = max((MIN_PITCH_MM * n - natural_mm) / n, 0.0)
            c.drawString(fx * mm, (row - VALUE_DROP - pitch * i) * mm, text, charSpace=spacing_mm * mm)

    # Zone VII.
    line1, line2 = mrz_lines(d)
    c.setFont("OCRB", MRZ_PT)
    c.drawString(MRZ_X * mm, (MRZ_LINE1_CENTRE - MRZ_HALF_CAP_MM) * mm, line1)
    c.drawString(MRZ_X * mm, (MRZ_LINE2_CENTRE - MRZ_HALF_CAP_MM) * mm, line2)
    c.showPage()
    c.save()
    return buf.getvalue()


def write_synced(path: pathlib.Path, data: bytes) -> None:
    """As the station's write_atomic: temporary file, fsync, rename, fsync of the folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def batch(ocrb: pathlib.Path, out_dir: pathlib.Path, jobs: list[pathlib.Path]) -> None:
    rl_config.useA85 = 0  # binary streams, as the station writes (reportlab's default is ASCII85)
    register_fonts(ocrb)
    for path in jobs:
        job = json.loads(path.read_bytes())
        write_synced(out_dir / f"{job['job_id']}.pdf", data_page(job))


def single_page_reference() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ocrb = pathlib.Path(tmp) / "OCRB.ttf"
        ocrb_as_ttf(ocrb)
        register_fonts(ocrb)
        portrait = ROOT / "fixtures/portraits/silhouette-600x800.jpg"
        page(portrait)  # warm-up
        times = []
        for _ in range(100):
            start = time.perf_counter()
            pdf = page(portrait)
            times.append(time.perf_counter() - start)
        print(f"reportlab page: median {statistics.median(times) * 1000:.2f} ms over {len(times)} runs, {len(pdf)} bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--make-ocrb", type=pathlib.Path, metavar="OCRB.ttf",
                    help="convert assets/fonts/OCRB.otf to TrueType outlines and exit")
    ap.add_argument("--batch", action="store_true", help="render job files as pstation render --out-dir does")
    ap.add_argument("--ocrb", type=pathlib.Path, metavar="OCRB.ttf", help="(batch) the converted OCR-B")
    ap.add_argument("--out-dir", type=pathlib.Path, metavar="DIR", help="(batch) where <job_id>.pdf go")
    ap.add_argument("jobs", nargs="*", type=pathlib.Path, help="(batch) job JSON files")
    args = ap.parse_args()
    if args.make_ocrb:
        ocrb_as_ttf(args.make_ocrb)
    elif args.batch:
        if not (args.ocrb and args.out_dir and args.jobs):
            ap.error("--batch needs --ocrb, --out-dir and at least one job file")
        batch(args.ocrb, args.out_dir, args.jobs)
    else:
        single_page_reference()


if __name__ == "__main__":
    main()
