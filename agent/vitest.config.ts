import { nodeWorkspaceConfig } from '../vitest.workspace-config.js';

// The agent's tests run real git, crontab, sshd, child processes and property tests; on a loaded
// 2-core machine these take seconds where a quiet laptop takes milliseconds. Speed is measured
// by the benchmarks (`npm run bench -w agent`), never by a test's time limit.
export default nodeWorkspaceConfig('agent', { testTimeout: 60_000, hookTimeout: 120_000 });
