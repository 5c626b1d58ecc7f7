import { describe, expect, it } from 'vitest';

import spec from '../../paper_widgets/protocol.json';
import { COMM_TARGET, PROTOCOL_VERSION, parseRequest } from '../src/protocol';

const base = { version: spec.version, request_id: 'r1' };

describe('parseRequest', () => {
  it('takes its constants from protocol.json', () => {
    expect(COMM_TARGET).toBe(spec.target);
    expect(PROTOCOL_VERSION).toBe(spec.version);
  });

  it('accepts every well-formed action', () => {
    const insert = { ...base, action: 'insert', text: 'x', cell_type: 'markdown', where: 'cursor' };
    const upsert = { ...base, action: 'upsert', text: 'x', cell_type: 'markdown', role: 'references' };
    expect(parseRequest(insert)).toEqual(insert);
    expect(parseRequest(upsert)).toEqual(upsert);
    expect(parseRequest({ ...base, action: 'read' })).toEqual({ ...base, action: 'read' });
    expect(parseRequest({ ...base, action: 'hello' })).toEqual({ ...base, action: 'hello' });
  });

  it('says what is wrong with a bad message', () => {
    expect(parseRequest('nope')).toBe('the message is not a JSON object');
    expect(parseRequest([base])).toBe('the message is not a JSON object');
    expect(parseRequest({ ...base, version: spec.version + 1, action: 'read' })).toMatch(
      new RegExp(`version ${spec.version + 1} but this JupyterLab extension speaks version ${spec.version}`)
    );
    expect(parseRequest({ version: spec.version, action: 'read' })).toBe('the message has no request_id');
    expect(parseRequest({ ...base, action: 'delete' })).toBe('unknown action "delete"');
    expect(parseRequest({ ...base, action: 'insert', cell_type: 'markdown', where: 'below' })).toBe(
      'the message has no text to insert'
    );
    expect(parseRequest({ ...base, action: 'insert', text: 'x', cell_type: 'heading', where: 'below' })).toBe(
      'unknown cell type "heading"'
    );
    expect(parseRequest({ ...base, action: 'insert', text: 'x', cell_type: 'code', where: 'above' })).toBe(
      'unknown insert position "above"'
    );
    expect(parseRequest({ ...base, action: 'upsert', text: 'x', cell_type: 'markdown' })).toBe(
      'an upsert needs a role'
    );
  });
});
