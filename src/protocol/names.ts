/**
 * The names a client may send and will see: filters, processing backends, media engines, and the
 * bounds on a filter request. The server's processing layer implements exactly these filters.
 */

/** The image kernels every backend implements, bit-exact. */
export const KERNEL_FILTER_NAMES = ['none', 'invert', 'grayscale', 'blur', 'edges', 'sharpen'] as const;
export type KernelFilterName = (typeof KERNEL_FILTER_NAMES)[number];

/** The filters backed by the face detector: `anonymize` hides every face, `faces` draws the boxes. */
export const FACE_FILTER_NAMES = ['anonymize', 'faces'] as const;
export type FaceFilterName = (typeof FACE_FILTER_NAMES)[number];

/** Every filter a client may ask for. */
export const FILTER_NAMES = [...KERNEL_FILTER_NAMES, ...FACE_FILTER_NAMES] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

/** The most iterations any request may ask for: bounds the work of one call. */
export const MAX_ITERATIONS = 50;

/**
 * How `anonymize` hides a face (the filter's `style` parameter): a strong blur or coarse blocks.
 * Other filters accept and ignore it, as the filters that do not iterate ignore `iterations`.
 */
export const ANONYMIZE_STYLES = ['blur', 'pixelate'] as const;
export type AnonymizeStyle = (typeof ANONYMIZE_STYLES)[number];

/** The backends a server serves with (`activeBackend`, `/backends`, `/process` results). */
export const BACKEND_NAMES = ['gpu', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a client may ask for: a backend, or `auto` (gpu when a hardware adapter exists, else cpu). */
export const BACKEND_CHOICES = ['auto', 'gpu', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The media engines a server can run sessions on (RTC_MEDIA_ENGINE). */
export const MEDIA_ENGINE_NAMES = ['native', 'libwebrtc'] as const;
export type MediaEngineName = (typeof MEDIA_ENGINE_NAMES)[number];

/** True when `v` is one of the filter names. */
export function isFilterName(v: unknown): v is FilterName {
  return typeof v === 'string' && (FILTER_NAMES as readonly string[]).includes(v);
}

/** True when `v` is an anonymize style (blur, pixelate). */
export function isAnonymizeStyle(v: unknown): v is AnonymizeStyle {
  return typeof v === 'string' && (ANONYMIZE_STYLES as readonly string[]).includes(v);
}

/** The error text for a `style` that is not one: the same over HTTP and the data channel. */
export function badStyleMessage(v: unknown): string {
  return `style must be one of ${ANONYMIZE_STYLES.join(', ')}, got ${JSON.stringify(v)}`;
}

/** True when `name` is a face filter (runs the detector, not a kernel). */
export function isFaceFilter(name: FilterName): name is FaceFilterName {
  return (FACE_FILTER_NAMES as readonly string[]).includes(name);
}

/** True when `v` is a backend a client may ask for (auto, gpu, cpu). */
export function isBackendChoice(v: unknown): v is BackendChoice {
  return typeof v === 'string' && (BACKEND_CHOICES as readonly string[]).includes(v);
}

/** True when `v` is the name of a serving backend (gpu, cpu). */
export function isBackendName(v: unknown): v is BackendName {
  return typeof v === 'string' && (BACKEND_NAMES as readonly string[]).includes(v);
}

/** True when `v` is a media engine name. */
export function isMediaEngineName(v: unknown): v is MediaEngineName {
  return typeof v === 'string' && (MEDIA_ENGINE_NAMES as readonly string[]).includes(v);
}
