import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test files that spend minutes waiting on real time (`npm start`'s first runs and incident, the
 * real cron daemon's minute), in the order they start. Started first, they wait while the other
 * worker runs the rest of the suite, instead of holding the run open at its end: a clean clone
 * (CI) has no timings from an earlier run, and vitest would otherwise order files by size.
 */
const waitingFiles = [
  'agent/test/demo/startCronfleet.test.ts',
  'agent/test/e2e/cronDaemon.test.ts',
  'agent/test/control/liveRuns.backend.test.ts',
  'agent/test/spool/spoolDelivery.test.ts',
];

export class WaitingFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = waitingFiles.findIndex((name) => file.moduleId.endsWith(`/${name}`));
      return index === -1 ? waitingFiles.length : index;
    };
    return sorted
      .map((file, order) => ({ file, order, rank: rank(file) }))
      .sort((a, b) => a.rank - b.rank || a.order - b.order)
      .map(({ file }) => file);
  }
}
