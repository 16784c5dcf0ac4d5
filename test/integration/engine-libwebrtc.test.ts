/** The media engine conformance suite on the libwebrtc engine (@roamhq/wrtc). */
import { runEngineConformance } from '../support/engine-conformance.js';

runEngineConformance({ engine: 'libwebrtc' });
