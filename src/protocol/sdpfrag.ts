/**
 * The `application/trickle-ice-sdpfrag` bodies of WHIP and WHEP PATCH requests (RFC 8840 §4.4,
 * RFC 9725 §4.3): reading them on the server and writing them in clients. Runtime-neutral (no
 * Node or DOM API) so the web page and the load generator can write the same bodies the server
 * reads.
 */

/** The media type of a trickle/restart PATCH body. */
export const SDPFRAG_MEDIA_TYPE = 'application/trickle-ice-sdpfrag';
/** The media type of a WHIP/WHEP offer and answer. */
export const SDP_MEDIA_TYPE = 'application/sdp';

/** Longest fragment accepted: a fragment carries a few candidates, a few hundred bytes each. */
export const MAX_SDPFRAG_CHARS = 16 * 1024;
/** Most candidates one fragment may carry (a client has a handful per interface). */
export const MAX_SDPFRAG_CANDIDATES = 64;

/** One remote candidate: the `candidate:...` attribute value (without `a=`), and the mid it belongs to. */
export interface FragCandidate {
  candidate: string;
  mid: string | null;
}

/** What a fragment says. */
export interface SdpFrag {
  /** ICE credentials in the fragment (session or media level); null when absent. */
  iceUfrag: string | null;
  icePwd: string | null;
  candidates: FragCandidate[];
  endOfCandidates: boolean;
}

/** The fragment is not one (wrong lines, too long, too many candidates). */
export class SdpFragError extends Error {
  override readonly name = 'SdpFragError';
}

/** `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...` (RFC 8839 §5.1). */
const CANDIDATE = /^candidate:[!-~]{1,32} \d{1,3} [A-Za-z]{1,16} \d{1,10} \S{1,256} \d{1,5} typ [a-z]{1,16}( .{0,512})?$/;
/** ICE ufrag/pwd characters (RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"). Lengths loosened for real clients. */
const ICE_CHARS = /^[A-Za-z0-9+/=#_-]{1,256}$/;
/** Lines RFC 8840 lets a fragment carry besides candidates; others are ignored, as RFC 8840 §4.4 says unknown ones should be. */
const LINE = /^([a-z])=(.*)$/;

/** Parse a fragment; throws SdpFragError when it is malformed. */
export function parseSdpFrag(body: string): SdpFrag {
  if (body.length > MAX_SDPFRAG_CHARS) throw new SdpFragError(`the fragment is longer than ${MAX_SDPFRAG_CHARS} characters`);
  const frag: SdpFrag = { iceUfrag: null, icePwd: null, candidates: [], endOfCandidates: false };
  let mid: string | null = null;
  let lines = 0;
  for (const raw of body.split(/\r?\n/)) {
    if (raw === '') continue;
    lines++;
    const m = LINE.exec(raw);
    if (!m) throw new SdpFragError(`line ${lines} is not an SDP line: ${JSON.stringify(raw.slice(0, 80))}`);
    const [, kind, value = ''] = m;
    if (kind === 'm') {
      // A new media section: candidates after it belong to its mid, once a=mid names it.
      mid = null;
      continue;
    }
    if (kind !== 'a') continue;
    const colon = value.indexOf(':');
    const name = colon < 0 ? value : value.slice(0, colon);
    const arg = colon < 0 ? '' : value.slice(colon + 1);
    switch (name) {
      case 'ice-ufrag':
      case 'ice-pwd':
        if (!ICE_CHARS.test(arg)) throw new SdpFragError(`a=${name} has an invalid value`);
        if (name === 'ice-ufrag') frag.iceUfrag = arg;
        else frag.icePwd = arg;
        break;
      case 'mid':
        if (arg === '' || arg.length > 32) throw new SdpFragError('a=mid must be 1 to 32 characters');
        mid = arg;
        break;
      case 'candidate':
        if (!CANDIDATE.test(value)) throw new SdpFragError(`a=${value.slice(0, 80)} is not an ICE candidate`);
        if (frag.candidates.length >= MAX_SDPFRAG_CANDIDATES) {
          throw new SdpFragError(`the fragment carries more than ${MAX_SDPFRAG_CANDIDATES} candidates`);
        }
        frag.candidates.push({ candidate: value, mid });
        break;
      case 'end-of-candidates':
        frag.endOfCandidates = true;
        break;
      default:
        // ice-options, ice-pacing, ice-lite, group:BUNDLE: nothing the server acts on.
        break;
    }
  }
  if (lines === 0) throw new SdpFragError('the fragment is empty');
  return frag;
}

/** Write a fragment for one media section (the bundle's first, as RFC 9725 §4.3.2 asks). */
export function writeSdpFrag(frag: { iceUfrag: string; icePwd: string; mid: string; candidates: string[]; endOfCandidates?: boolean }): string {
  const lines = [`a=ice-ufrag:${frag.iceUfrag}`, `a=ice-pwd:${frag.icePwd}`, 'm=video 9 UDP/TLS/RTP/SAVPF 0', `a=mid:${frag.mid}`];
  for (const c of frag.candidates) lines.push(`a=${c.replace(/^a=/, '')}`);
  if (frag.endOfCandidates) lines.push('a=end-of-candidates');
  return `${lines.join('\r\n')}\r\n`;
}

/** The session's ICE credentials as an SDP states them (first occurrence, session or media level). */
export function sdpIceCredentials(sdp: string): { iceUfrag: string | null; icePwd: string | null } {
  return {
    iceUfrag: /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? null,
    icePwd: /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1] ?? null,
  };
}

/** An ICE server as a WHIP `Link` header value (RFC 9725 §4.6). Quotes and backslashes are escaped as RFC 8288 quoted-strings need. */
export function iceServerLink(url: string, credentials?: { username: string; credential: string }): string {
  const q = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  let link = `<${url}>; rel="ice-server"`;
  if (credentials) link += `; username=${q(credentials.username)}; credential=${q(credentials.credential)}; credential-type="password"`;
  return link;
}

/** Read `Link: <url>; rel="ice-server"; ...` header values back into ICE servers (clients). Links of other rels are skipped. */
export function parseIceServerLinks(values: readonly string[]): Array<{ urls: string; username?: string; credential?: string }> {
  const out: Array<{ urls: string; username?: string; credential?: string }> = [];
  for (const header of values) {
    // One header may carry several links separated by commas outside <> and quotes.
    for (const link of header.match(/<[^>]*>(?:\s*;\s*[a-zA-Z-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,]*))*/g) ?? []) {
      const url = /^<([^>]*)>/.exec(link)?.[1];
      if (url === undefined) continue;
      const params = new Map<string, string>();
      for (const p of link.matchAll(/;\s*([a-zA-Z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,]*)/g)) {
        const v = p[2] ?? '';
        params.set((p[1] ?? '').toLowerCase(), v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v.trim());
      }
      if (params.get('rel') !== 'ice-server') continue;
      const server: { urls: string; username?: string; credential?: string } = { urls: url };
      const username = params.get('username');
      const credential = params.get('credential');
      if (username !== undefined) server.username = username;
      if (credential !== undefined) server.credential = credential;
      out.push(server);
    }
  }
  return out;
}
