// Writes src/protocolSpec.ts from ../paper_widgets/protocol.json, the one definition of the
// kernel <-> JupyterLab protocol, as a `const` object so that TypeScript derives literal types
// (actions, cell types, positions) from it; a JSON import would widen them to `string`.
//   node scripts/protocol-types.mjs          regenerate (the build does this first)
//   node scripts/protocol-types.mjs --check  exit 1 when src/protocolSpec.ts is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', '..', 'paper_widgets', 'protocol.json');
const target = join(here, '..', 'src', 'protocolSpec.ts');

/** `value` as a TypeScript literal in the project's prettier style (single quotes, bare keys). */
function literal(value, indent = '') {
  if (typeof value === 'string') {
    return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
  }
  if (Array.isArray(value)) {
    return `[${value.map(item => literal(item, indent)).join(', ')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const inner = indent + '  ';
    const fields = Object.entries(value).map(([key, item]) => `${inner}${key}: ${literal(item, inner)}`);
    return `{\n${fields.join(',\n')}\n${indent}}`;
  }
  return String(value);
}

const spec = JSON.parse(readFileSync(source, 'utf-8'));
const text =
  '// Generated from paper_widgets/protocol.json by scripts/protocol-types.mjs; do not edit.\n' +
  `export const spec = ${literal(spec)} as const;\n`;

let current = null;
try {
  current = readFileSync(target, 'utf-8');
} catch {
  // not generated yet
}
if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error('src/protocolSpec.ts is stale: run `node scripts/protocol-types.mjs` in labextension/');
    process.exit(1);
  }
} else if (current !== text) {
  writeFileSync(target, text);
}
