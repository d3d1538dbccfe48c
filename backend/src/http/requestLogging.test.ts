import { describe, expect, it } from 'vitest';
import { createLogger } from './requestLogging.js';

describe('createLogger', () => {
  it('redacts token and password fields at the first three levels', () => {
    const lines: string[] = [];
    const logger = createLogger(
      { level: 'info' },
      { write: (line: string) => void lines.push(line) },
    );
    logger.info(
      {
        password: 'hunter2-top',
        body: { email: 'ada@example.com', password: 'hunter2-body', newPassword: 'hunter3' },
        request: { body: { token: 'cfp_secret_nested' } },
        agent: { agentToken: 'cfa_secret_agent' },
      },
      'something happened',
    );
    const [line] = lines;
    const entry = JSON.parse(line ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({
      password: '[Redacted]',
      body: { email: 'ada@example.com', password: '[Redacted]', newPassword: '[Redacted]' },
      request: { body: { token: '[Redacted]' } },
      agent: { agentToken: '[Redacted]' },
      msg: 'something happened',
    });
    for (const secret of ['hunter2', 'hunter3', 'cfp_secret', 'cfa_secret']) {
      expect(line).not.toContain(secret);
    }
  });
});
