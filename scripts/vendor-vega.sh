#!/usr/bin/env bash
# Fetches the Vega, Vega-Lite and Vega-Embed builds that report pages inline
# (third_party/vega/), with their licences, from the npm registry. Run once
# by a maintainer when the versions below change; the result is committed, so
# neither the build nor a report ever needs the network.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=(vega@6.4.0 vega-lite@6.5.0 vega-embed@7.3.0)
out=third_party/vega
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for spec in "${versions[@]}"; do
  (cd "$work" && npm pack "$spec" --silent >/dev/null)
done
rm -rf "$out" && mkdir -p "$out"
for spec in "${versions[@]}"; do
  name=${spec%@*}
  version=${spec#*@}
  mkdir -p "$work/$name"
  tar xzf "$work/$name-$version.tgz" -C "$work/$name"
  cp "$work/$name/package/build/$name.min.js" "$out/"
  cp "$work/$name/package/LICENSE" "$out/LICENSE.$name"
  echo "$name $version $(sha256sum "$out/$name.min.js" | cut -d' ' -f1)" >>"$out/VERSIONS"
done
# The page inlines these files inside <script> elements: a closing tag in
# them would end the element early.
if grep -l '</script' "$out"/*.min.js; then
  echo "vendor-vega: a build contains '</script'; the report page cannot inline it" >&2
  exit 1
fi
echo "vendored into $out:" && cat "$out/VERSIONS"
