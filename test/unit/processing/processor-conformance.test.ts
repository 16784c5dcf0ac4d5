/**
 * Every backend this machine can create through the one FrameProcessor contract
 * (test/support/processor-conformance.ts). The GPU runs on whatever adapter exists, software ones
 * included (lavapipe in CI); RTC_TEST_REQUIRE_GPU=1 makes a missing GPU a failure, not a skip.
 */
import os from 'node:os';
import { CpuProcessor } from '../../../src/processing/cpu/cpu-processor.js';
import { GpuProcessor } from '../../../src/processing/gpu/gpu-processor.js';
import { runProcessorConformance } from '../../support/processor-conformance.js';
import { gpuRequired, testDawnOptions } from '../../support/processors.js';

runProcessorConformance({
  name: 'cpu',
  create: () => CpuProcessor.create({ workers: Math.max(1, Math.min(2, os.availableParallelism())) }),
  required: true,
});

runProcessorConformance({
  name: 'gpu',
  create: () => GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() }),
  required: gpuRequired(),
});
