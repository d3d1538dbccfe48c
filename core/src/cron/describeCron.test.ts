import { describe, expect, it } from 'vitest';

import { parseCron } from './cronExpression.js';
import { describeCron } from './describeCron.js';

describe('describeCron', () => {
  it.each([
    ['0 2 * * *', 'At 02:00 every day'],
    // Vixie/cronie: */2 starts with *, so the day fields combine with AND.
    [
      '0 0 */2 * 1',
      'At 00:00 on every 2nd day of the month (the 1st, 3rd, 5th, …), only if it is a Monday',
    ],
    // Both restricted: either one.
    ['0 0 1,15 * 5', 'At 00:00 on day 1 and 15 of the month, and on every Friday'],
    ['*/15 9-17 * * MON-FRI', 'Every 15 minutes, between 09:00 and 17:59 on Monday through Friday'],
    ['0,30 2,14 * * *', 'At 02:00, 02:30, 14:00 and 14:30 every day'],
    ['5 */2 * * *', 'At minute 5 past every 2nd hour'],
    ['* * * * *', 'Every minute'],
    ['5-59/10 * * * *', 'At minutes 5, 15, 25, 35, 45 and 55'],
    ['0 9 * */3 *', 'At 09:00 every day, every 3rd month (January, April, July and October)'],
    ['0 0 * * 7', 'At 00:00 on Sunday'],
    ['0 12 * * 0,6', 'At 12:00 on Sunday and Saturday'],
    ['0 0 29 2 *', 'At 00:00 on day 29 of the month, in February'],
    [
      '0 0 */15 * */2',
      'At 00:00 on every 15th day of the month (the 1st, 16th, 31st), only if it is a Sunday, Tuesday, Thursday or Saturday',
    ],
    ['@hourly', 'At minute 0 past every hour'],
    ['@daily', 'At 00:00 every day'],
    ['@weekly', 'At 00:00 on Sunday'],
    ['@monthly', 'At 00:00 on day 1 of the month'],
    ['@yearly', 'At 00:00 on day 1 of the month, in January'],
  ])('%s → %s', (expression, description) => {
    expect(describeCron(expression)).toBe(description);
  });

  it('describes @reboot', () => {
    expect(describeCron('@reboot')).toBe('Once, when the scheduler starts (@reboot)');
    expect(describeCron(parseCron('@reboot'))).toBe('Once, when the scheduler starts (@reboot)');
  });

  it('throws CronSyntaxError for an invalid expression', () => {
    expect(() => describeCron('0 25 * * *')).toThrow('hour field "25"');
  });
});
