import { defineConfig } from 'vitest/config';
import { WaitingFilesFirst } from './vitest.sequencer.js';

// One run over every workspace; each workspace also runs alone with `npm test -w <name>`.
export default defineConfig({
  test: {
    projects: ['core', 'backend', 'agent', 'cli', 'frontend'],
    sequence: { sequencer: WaitingFilesFirst },
  },
});
