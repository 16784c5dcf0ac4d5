/** Small typed DOM lookups for the page's fixed elements. */

/** The element with this id, of the expected type; throws if the page markup lacks it. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`page markup: #${id} missing or not a ${type.name}`);
  return el;
}

/** Create an element with text and attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** Format milliseconds for display: 2 decimals below 10 ms, 1 above. */
export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}
