#!/usr/bin/env node
// The `cronfleet` executable: oclif's ESM runner over the compiled commands in dist/commands.
import { execute, settings } from '@oclif/core';

// Always run the compiled commands, even under NODE_ENV=test or development: never transpile src.
settings.enableAutoTranspile = false;

await execute({ dir: import.meta.url });
