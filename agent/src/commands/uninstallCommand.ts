import { rm } from 'node:fs/promises';
import { createAgentRuntime } from '../agentRuntime.js';
import { emptyStatus } from '../state/agentStateStore.js';
import { withReconcileLock, writeJson, type Command } from './commandContext.js';

/**
 * `cronfleet-agent uninstall`: removes every entry this agent created (its inventory, and its
 * marked block or files in the scheduler) and nothing else, then forgets the inventory and the
 * run specs. The Git checkout and the agent id stay, so a later sync reinstalls cleanly.
 */
export const uninstallCommand: Command = async (context) => {
  const runtime = await createAgentRuntime(context.config, {
    logger: context.logger,
    environment: context.io.environment,
  });
  return withReconcileLock(context, async () => {
    const { store, backend } = runtime;
    const inventory = await store.readInventory();
    const observed = await backend.observe();
    const owned = new Set([...Object.keys(inventory?.jobs ?? {}), ...observed.keys()]);
    const outcome = await backend.uninstall(owned);
    await rm(store.inventoryFile, { force: true });
    await rm(store.specsDir, { recursive: true, force: true });
    await store.writeStatus(emptyStatus);
    const removed = [...owned].sort();
    if (context.json)
      writeJson(context, { scheduler: backend.name, removed, written: outcome.written });
    else {
      context.io.stdout.write(
        removed.length === 0
          ? `Nothing to remove from ${backend.name}.\n`
          : `Removed ${removed.length} job${removed.length === 1 ? '' : 's'} from ${backend.name}:\n${removed.map((id) => `  ${id}`).join('\n')}\n`,
      );
    }
    return 0;
  });
};
