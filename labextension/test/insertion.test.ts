import { describe, expect, it } from 'vitest';

import { citationText } from '../src/insertion';

describe('citationText', () => {
  it('adds a space after a word', () => {
    expect(citationText('as shown by', 11, '[@yu2020]')).toBe(' [@yu2020]');
    expect(citationText('see Yu.', 7, '[@yu2020]')).toBe(' [@yu2020]');
  });
  it('adds nothing at the start, after a space, a newline or an opening bracket', () => {
    expect(citationText('', 0, '[@k]')).toBe('[@k]');
    expect(citationText('as shown by ', 12, '[@k]')).toBe('[@k]');
    expect(citationText('line\n', 5, '[@k]')).toBe('[@k]');
    expect(citationText('(see ', 5, '@k')).toBe('@k');
    expect(citationText('x (', 3, '@k')).toBe('@k');
  });
  it('looks only at the text before the cursor, clamped to the source', () => {
    expect(citationText('word more', 0, '[@k]')).toBe('[@k]');
    expect(citationText('word', 99, '[@k]')).toBe(' [@k]');
  });
});
