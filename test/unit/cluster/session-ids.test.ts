/**
 * Session ids that name their owner (src/cluster/session-ids.ts) and the cluster settings: an id
 * reads back as its owner's address; any change to it, an id made under another secret, or one of
 * another length or spelling reads as no owner at all; hop headers bind method, URL and time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdvertiseUrlError, ClusterIds, MAX_CLUSTER_ID_CHARS, parseAdvertiseUrl } from '../../../src/cluster/session-ids.js';
import { ConfigError, loadConfig } from '../../../src/server/config.js';

const SECRET = 'unit-test-cluster-secret-0123456789';

describe('cluster session ids', () => {
  it('name their owner, IPv4 and IPv6, within the router\'s 100-character limit', () => {
    for (const [url, chars] of [['http://10.12.34.56:8080', 54], ['http://[fd00:1:2::ab]:9000', 70], ['http://[::ffff:10.0.0.1]:80', 70]] as const) {
      const self = parseAdvertiseUrl(url);
      const ids = new ClusterIds(SECRET, self);
      const id = ids.newId();
      assert.equal(id.length, chars);
      assert.ok(id.length <= MAX_CLUSTER_ID_CHARS && MAX_CLUSTER_ID_CHARS < 100);
      assert.match(id, /^[A-Za-z0-9_-]+$/);
      const owner = ids.ownerOf(id);
      assert.deepEqual(owner, self);
      assert.ok(owner && ids.isSelf(owner));
      // Another replica with the same secret reads the same owner.
      const other = new ClusterIds(SECRET, parseAdvertiseUrl('http://10.0.0.9:8080'));
      assert.deepEqual(other.ownerOf(id), self);
      assert.ok(!other.isSelf(owner!));
      assert.notEqual(ids.newId(), id, 'ids are random');
    }
    assert.equal(parseAdvertiseUrl('http://[fd00:1:2::ab]:9000').host, '[fd00:1:2:0:0:0:0:ab]');
  });

  it('any changed bit, another secret, another length or a non-canonical spelling reads as no owner', () => {
    const ids = new ClusterIds(SECRET, parseAdvertiseUrl('http://10.1.2.3:8080'));
    const id = ids.newId();
    const raw = Buffer.from(id, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const t = Buffer.from(raw);
        t[i]! ^= 1 << bit;
        assert.equal(ids.ownerOf(t.toString('base64url')), null, `byte ${i} bit ${bit}`);
      }
    }
    assert.equal(new ClusterIds(`${SECRET}x`, ids.self).ownerOf(id), null, 'another cluster\'s secret');
    assert.equal(ids.ownerOf(`${id}A`), null);
    assert.equal(ids.ownerOf(id.slice(0, -1)), null);
    assert.equal(ids.ownerOf(`${id.slice(0, -1)}${id.at(-1) === 'A' ? 'B' : 'A'}`), null);
    assert.equal(ids.ownerOf(id.replace(/.$/, '+')), null, 'not base64url');
    assert.equal(ids.ownerOf(''), null);
    assert.equal(ids.ownerOf('x'.repeat(5000)), null);
    assert.equal(ids.ownerOf('6b0d5a8e-64a5-4d4b-9a57-0d5f5a39f0a1'), null, 'a single server\'s UUID');
  });

  it('hop headers bind the method, the URL and the time', () => {
    const ids = new ClusterIds(SECRET, parseAdvertiseUrl('http://10.1.2.3:8080'));
    const now = 1_800_000_000_000;
    const h = ids.signHop('PATCH', '/whip/sessions/abc', now);
    assert.ok(ids.verifyHop(h, 'PATCH', '/whip/sessions/abc', now + 1000));
    assert.ok(!ids.verifyHop(h, 'DELETE', '/whip/sessions/abc', now));
    assert.ok(!ids.verifyHop(h, 'PATCH', '/whip/sessions/abd', now));
    assert.ok(!ids.verifyHop(h, 'PATCH', '/whip/sessions/abc', now + 31_000), 'stale');
    assert.ok(!new ClusterIds('another-secret-0123456789abcdefghij', ids.self).verifyHop(h, 'PATCH', '/whip/sessions/abc', now));
    for (const bad of ['', 'x', `${now}.`, `${now}.${'A'.repeat(22)}`, `${now}.${'A'.repeat(23)}`, `-1.${h.split('.')[1]}`]) {
      assert.ok(!ids.verifyHop(bad, 'PATCH', '/whip/sessions/abc', now), JSON.stringify(bad));
    }
  });

  it('the advertise URL is http://IP:PORT and nothing else', () => {
    assert.equal(parseAdvertiseUrl('http://10.0.0.1:8080').url, 'http://10.0.0.1:8080');
    assert.equal(parseAdvertiseUrl('http://10.0.0.1').port, 80);
    for (const bad of ['https://10.0.0.1:8080', 'http://rtc-0.rtc:8080', 'http://10.0.0.1:8080/x', 'http://u:p@10.0.0.1:8080',
      'http://10.0.0.1:8080?a=1', 'http://fd00::1:8080', '10.0.0.1:8080', 'http://999.0.0.1:80']) {
      assert.throws(() => parseAdvertiseUrl(bad), AdvertiseUrlError, bad);
    }
  });
});

describe('cluster and keep-alive settings', () => {
  it('a single server by default; keep-alive 620 s (longer than Google\'s load balancer keeps its 600 s)', () => {
    const c = loadConfig({});
    assert.equal(c.cluster, null);
    assert.equal(c.keepAliveTimeoutS, 620);
    assert.equal(loadConfig({ RTC_KEEP_ALIVE_TIMEOUT_S: '75' }).keepAliveTimeoutS, 75);
    assert.throws(() => loadConfig({ RTC_KEEP_ALIVE_TIMEOUT_S: '0' }), ConfigError);
  });

  it('the secret and the advertise URL come together, validated', () => {
    const c = loadConfig({ RTC_CLUSTER_SECRET: SECRET, RTC_ADVERTISE_URL: 'http://10.4.0.7:8080' });
    assert.equal(c.cluster?.advertise.url, 'http://10.4.0.7:8080');
    assert.equal(c.cluster?.connectTimeoutMs, 2000);
    assert.equal(c.cluster?.forwardTimeoutS, 20);
    const err = (env: Record<string, string>, variable: string) =>
      assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && e.variable === variable, JSON.stringify(env));
    err({ RTC_CLUSTER_SECRET: SECRET }, 'RTC_ADVERTISE_URL');
    err({ RTC_ADVERTISE_URL: 'http://10.4.0.7:8080' }, 'RTC_CLUSTER_SECRET');
    err({ RTC_CLUSTER_SECRET: 'short', RTC_ADVERTISE_URL: 'http://10.4.0.7:8080' }, 'RTC_CLUSTER_SECRET');
    err({ RTC_CLUSTER_SECRET: SECRET, RTC_ADVERTISE_URL: 'http://my-pod:8080' }, 'RTC_ADVERTISE_URL');
    err({ RTC_CLUSTER_SECRET: SECRET, RTC_ADVERTISE_URL: 'http://10.4.0.7:8080', RTC_CLUSTER_FORWARD_TIMEOUT_S: '0' }, 'RTC_CLUSTER_FORWARD_TIMEOUT_S');
  });
});
