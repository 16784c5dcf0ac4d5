/**
 * Session and viewer ids that name the replica holding them, for a server that runs as one of
 * several replicas behind a load balancer. An id is base64url of
 *
 *   version (1) | random (16) | family (1: 4 or 6) | IP address (4 or 16) | port (2) | tag (16)
 *
 * where tag is the first 16 bytes of HMAC-SHA256 over everything before it, under a key derived
 * from the replicas' shared secret (RTC_CLUSTER_SECRET). A client can neither make an id that
 * names an address of its choosing nor change the address in an id it was given: the tag would
 * not match, and such an id is treated as unknown (404), never as a place to send a request to.
 * 54 characters for IPv4, 70 for IPv6: within the router's 100-character path parameter limit.
 *
 * The same secret signs the hop header of a forwarded request (`signHop`/`verifyHop`), under a
 * key of its own, so the owner can tell a forward from another replica from a client's header.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

const VERSION = 1;
const RANDOM_BYTES = 16;
const TAG_BYTES = 16;
/** Longest id, in characters (IPv6); anything longer is rejected before it is decoded. */
export const MAX_CLUSTER_ID_CHARS = Math.ceil(((1 + RANDOM_BYTES + 1 + 16 + 2 + TAG_BYTES) * 4) / 3);
const ID_PATTERN = /^[A-Za-z0-9_-]+$/;
/** A hop header older or newer than this (clock skew plus transit) is not accepted. */
const HOP_WINDOW_MS = 30_000;

/** The address another replica reaches this one at: an IP literal and a port, over plain HTTP. */
export interface ReplicaAddress {
  /** The IP address, as written in a URL host (IPv6 in brackets). */
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
}

/** An advertise URL that cannot be used; the message says why. */
export class AdvertiseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdvertiseUrlError';
  }
}

/**
 * Parse RTC_ADVERTISE_URL: `http://IP:PORT` with an IPv4 or bracketed IPv6 literal and nothing
 * else (no name to resolve, no path). Replicas forward to exactly this, so it must be an address.
 */
export function parseAdvertiseUrl(raw: string): ReplicaAddress {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new AdvertiseUrlError(`not a URL: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:') throw new AdvertiseUrlError('must be http:// (replicas talk inside the cluster network)');
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '' || (u.pathname !== '/' && u.pathname !== '')) {
    throw new AdvertiseUrlError('must be http://IP:PORT with no path, query or credentials');
  }
  const bare = u.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) throw new AdvertiseUrlError(`the host must be an IP address (the pod IP), got ${JSON.stringify(u.hostname)}`);
  const port = u.port === '' ? 80 : Number(u.port);
  return addressOf(family === 4 ? ipv4Bytes(bare) : ipv6Bytes(bare), port);
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** The 16 bytes of an IPv6 literal (with :: and a dotted IPv4 tail expanded). */
function ipv6Bytes(ip: string): Buffer {
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The address of raw IP bytes and a port. */
function addressOf(ip: Buffer, port: number): ReplicaAddress {
  let host: string;
  if (ip.length === 4) {
    host = [...ip].join('.');
  } else {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i).toString(16));
    host = `[${groups.join(':')}]`;
  }
  return { host, port, url: `http://${host}:${port}` };
}

/** The raw bytes of an address as the id stores them: family, IP, port. */
function addressBytes(a: ReplicaAddress): Buffer {
  const bare = a.host.replace(/^\[|\]$/g, '');
  const ip = isIP(bare) === 4 ? ipv4Bytes(bare) : ipv6Bytes(bare);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(a.port);
  return Buffer.concat([Buffer.from([ip.length === 4 ? 4 : 6]), ip, port]);
}

/** Makes ids that name this replica, reads the owner out of any replica's ids, signs and checks hop headers. */
export class ClusterIds {
  private readonly idKey: Buffer;
  private readonly hopKey: Buffer;
  private readonly selfBytes: Buffer;

  /** `secret`: the replicas' shared secret; `self`: the address other replicas reach this one at. */
  constructor(secret: string, readonly self: ReplicaAddress) {
    // One key per use, so a tag of one kind is never accepted as the other.
    this.idKey = createHmac('sha256', secret).update('rtc-scale session id v1').digest();
    this.hopKey = createHmac('sha256', secret).update('rtc-scale forwarded request v1').digest();
    this.selfBytes = addressBytes(self);
  }

  /** A new id owned by this replica. */
  newId(): string {
    const body = Buffer.concat([Buffer.from([VERSION]), randomBytes(RANDOM_BYTES), this.selfBytes]);
    return Buffer.concat([body, this.tag(body)]).toString('base64url');
  }

  /** The replica that owns `id`, or null when it is not an id any replica of this cluster made. */
  ownerOf(id: string): ReplicaAddress | null {
    if (id.length > MAX_CLUSTER_ID_CHARS || !ID_PATTERN.test(id)) return null;
    const raw = Buffer.from(id, 'base64url');
    const family = raw[1 + RANDOM_BYTES];
    const ipLength = family === 4 ? 4 : family === 6 ? 16 : -1;
    if (raw[0] !== VERSION || ipLength < 0 || raw.length !== 1 + RANDOM_BYTES + 1 + ipLength + 2 + TAG_BYTES) return null;
    // Canonical encoding only: one id, one spelling (base64url decoding ignores stray bits).
    if (raw.toString('base64url') !== id) return null;
    const body = raw.subarray(0, raw.length - TAG_BYTES);
    if (!timingSafeEqual(this.tag(body), raw.subarray(raw.length - TAG_BYTES))) return null;
    const ipStart = 1 + RANDOM_BYTES + 1;
    const port = body.readUInt16BE(ipStart + ipLength);
    if (port === 0) return null;
    return addressOf(body.subarray(ipStart, ipStart + ipLength), port);
  }

  /** Whether `a` is this replica. */
  isSelf(a: ReplicaAddress): boolean {
    return a.url === this.self.url;
  }

  /** The hop header value for forwarding `method url` now. */
  signHop(method: string, url: string, now = Date.now()): string {
    return `${now}.${this.hopTag(now, method, url)}`;
  }

  /** Whether `value` is a hop header another replica signed for `method url` within the last half minute. */
  verifyHop(value: string, method: string, url: string, now = Date.now()): boolean {
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{22})$/.exec(value);
    if (!m) return false;
    const t = Number(m[1]);
    if (Math.abs(now - t) > HOP_WINDOW_MS) return false;
    return timingSafeEqual(Buffer.from(this.hopTag(t, method, url)), Buffer.from(m[2]!));
  }

  private tag(body: Buffer): Buffer {
    return createHmac('sha256', this.idKey).update(body).digest().subarray(0, TAG_BYTES);
  }

  private hopTag(t: number, method: string, url: string): string {
    return createHmac('sha256', this.hopKey).update(`${t}\n${method}\n${url}`).digest().subarray(0, 16).toString('base64url');
  }
}
