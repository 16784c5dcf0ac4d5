/**
 * src/protocol: the error code table is the one the server answers with, and every code used is in it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, errorBody, httpStatusOf, isErrorCode, parseErrorBody } from '../../../src/protocol/index.js';
import { ERROR_CODES as SERVER_ERROR_CODES } from '../../../src/server/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('error codes', () => {
  test('the table is the one the server answers with', () => {
    assert.deepEqual({ ...ERROR_CODES }, { ...SERVER_ERROR_CODES });
    assert.equal(httpStatusOf('AT_CAPACITY'), 503);
    assert.equal(isErrorCode('DRAINING'), true);
    assert.equal(isErrorCode('toString'), false);
    assert.deepEqual(errorBody('NOT_FOUND', 'x'), { error: { code: 'NOT_FOUND', message: 'x' } });
    assert.deepEqual(parseErrorBody({ error: { code: 'AT_CAPACITY' } }), { code: 'AT_CAPACITY', message: '' });
    for (const bad of [null, {}, { error: 'x' }, { error: { code: '' } }, { error: { code: 5 } }]) assert.equal(parseErrorBody(bad), null);
  });

  test('every code used in src/ is in the table', () => {
    const used = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const text = readFileSync(p, 'utf8');
          for (const m of text.matchAll(/(?:ApiError\(|errorBody\(|code: )'([A-Z][A-Z_]+)'/g)) used.add(m[1]!);
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    assert.ok(used.size >= 10, `found ${[...used].join(', ')}`);
    for (const c of used) assert.ok(isErrorCode(c), `${c} is used in src/ but not in src/protocol/errors.ts`);
  });
});
