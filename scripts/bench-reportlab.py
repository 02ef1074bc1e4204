#!/usr/bin/env python3
"""The reference figure of issue 3: the same data page laid out with Python reportlab, timed on
this machine, to compare with `cargo bench --bench page` (pdf_from_page_model).

The page: the SANTOSO / BUDI fixture's texts at the template's positions and sizes, the same
DejaVu fonts, OCR-B converted to TrueType outlines (reportlab cannot embed CFF fonts), and the
600 x 800 benchmark JPEG embedded directly (reportlab passes JPEG through).
Usage: pip install reportlab==5.1.0 fonttools==4.68.0 && python3 scripts/bench-reportlab.py
"""
import io
import pathlib
import statistics
import tempfile
import time

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as RLFont
from reportlab.pdfgen import canvas

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ocrb_as_ttf(path: pathlib.Path) -> None:
    """OCR-B (CFF) to glyf outlines, as fontTools' otf2ttf example does."""
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ocrb = pathlib.Path(tmp) / "OCRB.ttf"
        ocrb_as_ttf(ocrb)
        pdfmetrics.registerFont(RLFont("OCRB", str(ocrb)))
        pdfmetrics.registerFont(RLFont("DejaVu", str(ROOT / "assets/fonts/DejaVuSans-LatinA.ttf")))
        pdfmetrics.registerFont(RLFont("DejaVuBold", str(ROOT / "assets/fonts/DejaVuSans-Bold-LatinA.ttf")))
        pdfmetrics.registerFont(RLFont("DejaVuOblique", str(ROOT / "assets/fonts/DejaVuSans-Oblique-LatinA.ttf")))
        portrait = ROOT / "fixtures/portraits/silhouette-600x800.jpg"
        page(portrait)  # warm-up
        times = []
        for _ in range(100):
            start = time.perf_counter()
            pdf = page(portrait)
            times.append(time.perf_counter() - start)
        print(f"reportlab page: median {statistics.median(times) * 1000:.2f} ms over {len(times)} runs, {len(pdf)} bytes")


if __name__ == "__main__":
    main()
