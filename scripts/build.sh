#!/usr/bin/env bash
# `npm run build`: the package as it ships. lib/ holds ES modules with declarations (library, CLI,
# operator); lib/cjs/ the library entry points again as CommonJS for CommonJS consumers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tsc=node_modules/typescript/bin/tsc
rm -rf lib
node "$tsc" -p tsconfig.build.json &
esm=$!
node "$tsc" -p tsconfig.cjs.json &
cjs=$!
wait "$esm"
wait "$cjs"
printf '{ "type": "commonjs" }\n' >lib/cjs/package.json
chmod +x lib/cli/bin.js
# The dashboard's page, served by lib/cli/dashboard/server.js from beside it.
cp -r cli/dashboard/assets lib/cli/dashboard/
# Plain CommonJS modules, which tsc does not compile (see each file), beside the modules that load them.
for f in mesh/model/schema/cel-runtime.cjs; do
  cp "$f" "lib/$f"
  cp "$f" "lib/cjs/$f"
done
