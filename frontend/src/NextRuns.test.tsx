import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { NextRuns } from './NextRuns.js';

describe('NextRuns', () => {
  it('lists the next fire times in the job time zone across the spring-forward change', () => {
    const html = renderToStaticMarkup(
      <NextRuns
        expression="30 2 * * *"
        timezone="America/New_York"
        from={new Date('2026-03-07T12:00:00Z')}
        count={3}
      />,
    );
    // 2026-03-08 02:30 does not exist in New York: cronie's policy runs it right after the gap.
    expect(html).toContain('dateTime="2026-03-08T07:00:00.000Z"');
    expect(html).toContain('dateTime="2026-03-09T06:30:00.000Z"');
    expect(html.match(/<li>/g)).toHaveLength(3);
  });
});
