import { nodeWorkspaceConfig } from '../vitest.workspace-config.js';

// Each test file starts its own database (an in-memory PGlite takes a few seconds to boot on a
// loaded 2-core machine), so hooks and tests get generous time limits.
export default nodeWorkspaceConfig('backend', { testTimeout: 30_000, hookTimeout: 90_000 });
