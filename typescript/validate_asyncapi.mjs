// Validates an AsyncAPI document with AsyncAPI's own parser (the specification's JSON Schema
// and its rules). Prints one line per problem; exits 1 on any error or warning.
// Usage: node validate_asyncapi.mjs asyncapi.json
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const ERROR = 0;
const WARNING = 1;
const { document, diagnostics } = await new Parser().parse(readFileSync(process.argv[2], "utf8"));
const problems = diagnostics.filter((diagnostic) => diagnostic.severity <= WARNING);
for (const problem of problems) {
  const level = problem.severity === ERROR ? "error" : "warning";
  console.log(`${level} ${problem.code} at ${problem.path.join(".")}: ${problem.message}`);
}
console.log(document && problems.length === 0 ? "valid" : "invalid");
process.exit(document && problems.length === 0 ? 0 : 1);
