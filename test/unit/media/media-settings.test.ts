/**
 * The media settings table (src/media/media-settings.ts) is the one declaration of each media
 * setting: docs/configuration.md states each row as the table does (default, type and range,
 * description), the server reads each variable with the table's default, and the engine refuses an
 * option outside the table's range.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../../monitoring/repo-root.js';
import { createNativeEngine } from '../../../src/media/engines/native/index.js';
import { checkSetting, MEDIA_SETTINGS, type MediaSettingName } from '../../../src/media/media-settings.js';
import { ConfigError, loadConfig } from '../../../src/server/config.js';
import { tableRows } from '../../support/markdown.js';

const doc = readFileSync(path.join(repoRoot(), 'docs/configuration.md'), 'utf8');

/** docs/configuration.md's row of `env`: [default, validation, description]. */
function row(env: string): string[] | null {
  for (const { header, cells } of tableRows(doc)) {
    if (header[0] === 'variable' && cells[0] === `\`${env}\``) return cells.slice(1);
  }
  return null;
}

const names = Object.keys(MEDIA_SETTINGS) as MediaSettingName[];

describe('media settings table', () => {
  for (const name of names) {
    const s = MEDIA_SETTINGS[name];
    it(`${s.env}: docs/configuration.md states the table's default, range and description`, () => {
      const r = row(s.env);
      assert.ok(r, `${s.env} has no row in docs/configuration.md`);
      const [def, validation, description] = r;
      if (s.kind === 'boolean') {
        assert.equal(def, s.default ? 'on' : 'off');
        assert.equal(validation, 'boolean');
      } else {
        assert.equal(Number(def), s.default);
        assert.ok(validation!.startsWith(`${s.kind} ${s.min}–${s.max}`), `validation "${validation}" should start with "${s.kind} ${s.min}–${s.max}"`);
      }
      assert.equal(description, s.doc);
    });
  }

  it('the server reads each setting with the table default and refuses values outside its range', () => {
    const cfg = loadConfig({}) as unknown as Record<string, unknown>;
    for (const name of names) {
      const s = MEDIA_SETTINGS[name];
      assert.equal(cfg[name], s.default, name);
      if (s.kind === 'boolean') continue;
      assert.throws(() => loadConfig({ [s.env]: String(s.max + 1) }), (e: unknown) => e instanceof ConfigError && e.variable === s.env);
      // the bitrate bounds must also keep min <= start <= max: their range ends are not each valid alone
      if (!name.startsWith('videoBitrate')) assert.equal((loadConfig({ [s.env]: String(s.min) }) as unknown as Record<string, unknown>)[name], s.min);
    }
  });

  it('the engine refuses an option outside the table range, naming it', () => {
    assert.equal(checkSetting('frameTimeoutMs', 20), 20);
    assert.throws(() => checkSetting('frameTimeoutMs', 19), /frameTimeoutMs must be an integer within 20\.\.5000/);
    assert.throws(() => checkSetting('vp8CpuUsed', 1.5), /vp8CpuUsed/);
    assert.throws(() => createNativeEngine({ frameTimeoutMs: 5001 }), RangeError);
    assert.throws(() => createNativeEngine({ retransmitBudgetKbps: 10 }), RangeError);
    assert.throws(() => createNativeEngine({ inputBitsPerPixel: 2 }), RangeError);
  });
});
