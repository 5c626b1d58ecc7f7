// Generated from paper_widgets/protocol.json by scripts/protocol-types.mjs; do not edit.
export const spec = {
  target: 'paper_widgets',
  version: 1,
  actions: ['hello', 'insert', 'upsert', 'read'],
  cell_types: ['markdown', 'code', 'raw'],
  where: ['below', 'cursor'],
  metadata_key: 'paper_widgets',
  references_role: 'references',
  remove_tag: 'remove-cell',
  update_references_code: 'import paper_widgets as _pw\n_pw.update_references()'
} as const;
