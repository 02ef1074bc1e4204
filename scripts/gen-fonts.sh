#!/usr/bin/env bash
# Regenerates assets/fonts/ from Debian's packages: OCR-B as shipped, and DejaVu Sans cut down to
# the characters the data page can carry (Basic Latin, Latin-1, Latin Extended-A, capital sharp
# s, hyphens and apostrophes) with hinting and layout tables removed (the page is printed at 300
# dpi or more, where hinting does nothing). Needs: fonts-ocr-b fonts-dejavu-core
# fonts-dejavu-extra, and `pip install fonttools==4.68.0`.
set -euo pipefail
out="$(dirname "$0")/../assets/fonts"
mkdir -p "$out"
cp /usr/share/fonts/opentype/ocr-b/OCRB.otf "$out/OCRB.otf"
cp /usr/share/doc/fonts-ocr-b/copyright "$out/LICENSE-OCRB.txt"
cp /usr/share/doc/fonts-dejavu-core/copyright "$out/LICENSE-DejaVu.txt"
for face in DejaVuSans DejaVuSans-Bold DejaVuSans-Oblique; do
    pyftsubset "/usr/share/fonts/truetype/dejavu/$face.ttf" \
        --unicodes="U+0020-007E,U+00A0-017F,U+1E9E,U+2010-2011,U+2018-2019,U+02BC" \
        --no-hinting --layout-features='' --drop-tables+=kern,GPOS,GSUB,GDEF,FFTM \
        --output-file="$out/$face-LatinA.ttf"
done
