#!/usr/bin/env bash
# Builds an 8-run sweep on the fixture models (2 seeds x refiner off/on x dilation off/on), writes
# its compare page, renders it in headless Chromium, saves a screenshot and checks that all 8
# output images are shown (the page's JS writes "N of M images shown" into document.title).
#
#   scripts/check-compare-page.sh [OUT_DIR]        (default: a new temporary folder)
#
# Needs chromium on the PATH (Debian: apt-get update && apt-get install -y chromium).
# Fixtures: $SDXL_FIXTURES or testdata/tiny-sdxl. Backend: $JDIFFUSION_BACKEND (default cpu).
# Set SKIP_BUILD=1 to reuse the compiled classes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-$(mktemp -d -t jdiffusion-compare-XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
FIX=${SDXL_FIXTURES:-$ROOT/testdata/tiny-sdxl}
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "check-compare-page: chromium not found (apt-get update && apt-get install -y chromium)" >&2; exit 2; }

build=(compile); [ "${SKIP_BUILD:-0}" = 1 ] && build=()
JAVA_HOME=$(./mvnw -v 2>/dev/null | sed -n 's/^Java version: .*, runtime: //p')
# Classpath: the reactor's own classes, then the third-party jars Maven resolved for the command line
# (the reactor writes deps.txt once per module, the command line last).
./mvnw -q -o -pl cli -am "${build[@]}" dependency:build-classpath -Dmdep.outputFile="$OUT/deps.txt" -Dmdep.includeScope=runtime >/dev/null
DEPS=$(tr ':' '\n' < "$OUT/deps.txt" | grep -v '/io/jdiffusion/' | grep -v '/target/classes$' | paste -sd: -)
CP=$(printf '%s/target/classes:' core-tensor text-encoders unet vae schedulers pipelines runs cli)$DEPS

"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Djdiffusion.backend="${JDIFFUSION_BACKEND:-cpu}" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" io.jdiffusion.cli.Main sweep \
    --model "$FIX/sdxl-base" --refiner "$FIX/sdxl-refiner" --image "$FIX/init.png" --mask "$FIX/mask.png" \
    -p "a red vase on a table" --steps 4 --seeds 1,2 --refiner-fractions off,0.5 --dilate off,3x1 \
    --experiment check-compare-page --tag check --runs "$OUT/store" --compare "$OUT/store/reports/compare.html" --quiet

PAGE="file://$OUT/store/reports/compare.html"
chrome() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --virtual-time-budget=10000 "$@" 2>>"$OUT/chromium.log"
}
chrome --screenshot="$OUT/compare.png" --window-size=1400,1800 "$PAGE"
chrome --dump-dom "$PAGE" > "$OUT/compare.dom.html"
TITLE=$(sed -n 's:.*<title>\(.*\)</title>.*:\1:p' "$OUT/compare.dom.html" | head -1)
echo "page:       $OUT/store/reports/compare.html"
echo "screenshot: $OUT/compare.png"
echo "title:      $TITLE"
[ -s "$OUT/compare.png" ] || { echo "check-compare-page: FAILED: no screenshot" >&2; exit 1; }
if [ "$TITLE" = "jdiffusion compare: 8 of 8 images shown" ]; then
    echo "check-compare-page: OK, all 8 images shown"
else
    echo "check-compare-page: FAILED: expected 'jdiffusion compare: 8 of 8 images shown'" >&2
    exit 1
fi
