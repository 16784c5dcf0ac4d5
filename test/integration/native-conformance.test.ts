/** The media engine conformance suite on the native engine (werift + FFmpeg codecs). */
import { runEngineConformance } from '../support/engine-conformance.js';

runEngineConformance({ engine: 'native' });
