import { describeCron, nextFireTimes } from '@cronfleet/core/cron';

/** The next fire times of a schedule, computed by the same reference evaluator as the agent's. */
export function NextRuns(props: {
  expression: string;
  timezone: string;
  from: Date;
  count?: number;
}) {
  const { expression, timezone, from, count = 5 } = props;
  const times = nextFireTimes(expression, { after: from, count, timezone });
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    dateStyle: 'medium',
    timeStyle: 'short',
  });
  return (
    <section aria-label="Next runs">
      <h2>
        <code>{expression}</code> ({timezone})
      </h2>
      <p>{describeCron(expression)}</p>
      <ol>
        {times.map((time) => (
          <li key={time.toISOString()}>
            <time dateTime={time.toISOString()}>{format.format(time)}</time>
          </li>
        ))}
      </ol>
    </section>
  );
}
