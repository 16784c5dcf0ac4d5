/**
 * Entry of the /app page: loads the server's backends, then wires the two panels. Exposes the
 * panels on `window.rtcApp` so the end-to-end tests (and curious users in devtools) can read
 * exactly what the page measured.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { authEvents, getBackendsOrHealth, setApiToken } from './api.js';
import { ComparePanel } from './compare-panel.js';
import { byId } from './dom.js';
import { LivePanel } from './live-panel.js';
import { backendLabel } from './speedup-text.js';

declare global {
  interface Window {
    rtcApp?: { compare: ComparePanel; live: LivePanel; ready: Promise<void> };
  }
}

async function loadBackends(compare: ComparePanel, live: LivePanel): Promise<void> {
  const status = byId('server-status', HTMLSpanElement);
  try {
    const info = await getBackendsOrHealth();
    compare.setBackends(info.backends);
    live.setBackends(info.backends);
    const def = info.backends.find((b) => b.name === info.default);
    status.textContent = `Server default: ${backendLabel(info.default)}${def?.device ? ` (${def.device})` : ''}`;
    status.dataset.state = 'ok';
  } catch (e) {
    status.textContent = `Server not reachable: ${e instanceof Error ? e.message : String(e)}`;
    status.dataset.state = 'error';
  }
}

/** Ask for a bearer token when the server answers 401/403. */
function wireAuth(): void {
  const form = byId('auth-form', HTMLFormElement);
  const input = byId('auth-token', HTMLInputElement);
  authEvents.addEventListener('required', () => {
    form.hidden = false;
    input.focus();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setApiToken(input.value.trim());
    input.value = '';
    form.hidden = true;
  });
}

wireAuth();
const compare = new ComparePanel();
const live = new LivePanel();
window.rtcApp = { compare, live, ready: loadBackends(compare, live) };
