#!/usr/bin/env bash
# Installs the Debian packages Ordna needs when they are missing. As root it installs them;
# otherwise it says what to install and fails.
#
#   ensure-system-packages.sh          what the test suite needs (`make test`)
#   ensure-system-packages.sh runtime  what the app itself needs (`make run`)
#
# runtime: Pango, HarfBuzz and a font for WeasyPrint, which renders the service protocol PDF.
# test:    the runtime set, plus headless Chromium for the browser tests and poppler-utils
#          (`pdftoppm`) to rasterise a protocol page for a person to look at.
set -euo pipefail
runtime=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core)
case "${1:-test}" in
  runtime) packages=("${runtime[@]}") ;;
  test) packages=("${runtime[@]}" chromium chromium-driver poppler-utils) ;;
  *) echo "usage: $0 [runtime|test]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
fonts_known() {
  # WeasyPrint finds fonts through fontconfig's cache; a machine image can carry the font
  # files without the cache (seen: "No fonts configured in FontConfig"), so build it then.
  if command -v fc-list >/dev/null && [ -z "$(fc-list 2>/dev/null | head -1)" ]; then
    echo "Building the fontconfig cache (fc-cache)"
    fc-cache -f >/dev/null 2>&1 || true
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  fonts_known
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fonts_known
else
  echo "Missing Debian packages: ${missing[*]}. Install them: sudo apt-get install ${missing[*]}" >&2
  echo "(libpango*, libharfbuzz0b, fonts-dejavu-core: WeasyPrint renders the service protocol PDF" \
       "with them; chromium*: the browser tests; poppler-utils: pdftoppm in the PDF tests.)" >&2
  exit 1
fi
