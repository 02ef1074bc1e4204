#!/usr/bin/env python3
"""Regenerates src/mrz/icao-codes.tsv: ISO 3166-1 alpha-3 from pycountry plus ICAO's additions.

Usage: pip install pycountry==26.2.16 && python3 scripts/gen-icao-codes.py
"""
import importlib.metadata
import pathlib

import pycountry

ICAO_ADDITIONS = [
    ("D", "Germany (ICAO MRZ code; ISO DEU is also accepted)"),
    ("EUE", "European Union"),
    ("GBD", "British Overseas Territories Citizen"),
    ("GBN", "British National (Overseas)"),
    ("GBO", "British Overseas Citizen"),
    ("GBP", "British Protected Person"),
    ("GBS", "British Subject"),
    ("RKS", "Kosovo"),
    ("UNO", "United Nations Organization or one of its officials"),
    ("UNA", "Specialized agency of the United Nations or one of its officials"),
    ("UNK", "Resident of Kosovo to whom a travel document has been issued by UNMIK"),
    ("XBA", "African Development Bank"),
    ("XIM", "African Export-Import Bank"),
    ("XCC", "Caribbean Community or one of its emissaries"),
    ("XCE", "Council of Europe"),
    ("XCO", "Common Market for Eastern and Southern Africa"),
    ("XEC", "Economic Community of West African States"),
    ("XPO", "International Criminal Police Organization"),
    ("XOM", "Sovereign Military Order of Malta or one of its emissaries"),
    ("XES", "Organization of Eastern Caribbean States"),
    ("XMP", "Parliamentary Assembly of the Mediterranean"),
    ("XDC", "Southern African Development Community"),
    ("XXA", "Stateless person"),
    ("XXB", "Refugee (1951 Convention)"),
    ("XXC", "Refugee (other than the 1951 Convention)"),
    ("XXX", "Person of unspecified nationality"),
    ("IAO", "Listed in shared/reference/icao-td3.md section 7; not confirmed against Doc 9303 Part 3 section 5"),
    ("UTO", "Utopia, the fictional State of ICAO's specimen documents"),
]


def main() -> None:
    version = importlib.metadata.version("pycountry")
    out = pathlib.Path(__file__).resolve().parent.parent / "src" / "mrz" / "icao-codes.tsv"
    lines = [
        "# ICAO 9303 Part 3 section 5 codes for issuing State and nationality: code<TAB>source<TAB>name.",
        f"# iso3166 rows: ISO 3166-1 alpha-3, generated from PyPI pycountry {version} (scripts/gen-icao-codes.py).",
        "# icao rows: ICAO's own additions, typed in from Doc 9303 Part 3 and shared/reference/icao-td3.md.",
        "# One- and two-letter codes (e.g. D) are padded with '<' to three positions in the MRZ.",
    ]
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_3):
        lines.append(f"{c.alpha_3}\tiso3166\t{c.name}")
    for code, name in ICAO_ADDITIONS:
        lines.append(f"{code}\ticao\t{name}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
