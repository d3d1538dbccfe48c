import { localTimeText, relativeTimeText, utcTimeText } from '../format/timeText.js';

/** A time in the viewer's zone; hovering (or a screen reader's description) gives it in UTC. */
export function TimeText(props: { iso: string | null; relativeTo?: number; empty?: string }) {
  const { iso, relativeTo, empty = '—' } = props;
  if (iso === null) return <span className="muted">{empty}</span>;
  return (
    <time dateTime={iso} title={utcTimeText(iso)}>
      {localTimeText(iso)}
      {relativeTo === undefined ? null : (
        <span className="muted"> ({relativeTimeText(iso, relativeTo)})</span>
      )}
    </time>
  );
}
