import { describe, expect, it } from 'vitest';
import { ConfigError, loadBackendConfig } from './env.js';

describe('loadBackendConfig', () => {
  it('applies defaults', () => {
    expect(loadBackendConfig({})).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      logLevel: 'info',
    });
    expect(loadBackendConfig({}).frontendDir).toMatch(/frontend[\\/]dist$/);
  });

  it('names the variable and the fix when a value is wrong', () => {
    expect(() => loadBackendConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadBackendConfig({ PORT: '70000' })).toThrow(
      /PORT: PORT must be between 0 and 65535/,
    );
    expect(() => loadBackendConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL:/);
  });
});
