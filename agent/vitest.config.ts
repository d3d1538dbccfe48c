import { nodeWorkspaceConfig } from '../vitest.workspace-config.js';

export default nodeWorkspaceConfig('agent');
