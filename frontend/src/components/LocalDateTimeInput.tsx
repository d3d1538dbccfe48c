/**
 * A time typed in the viewer's zone (`datetime-local`) for a filter whose value is an ISO instant
 * in UTC: the URL and the API hold the instant, the field shows it in the viewer's zone.
 */
export function LocalDateTimeInput(props: {
  name: string;
  iso: string;
  onChange: (iso: string) => void;
}) {
  return (
    <input
      type="datetime-local"
      name={props.name}
      value={isoToLocalInput(props.iso)}
      onChange={(event) => props.onChange(localInputToIso(event.target.value))}
    />
  );
}

function localInputToIso(local: string): string {
  if (local === '') return '';
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

function isoToLocalInput(iso: string): string {
  const date = new Date(iso);
  if (iso === '' || Number.isNaN(date.getTime())) return '';
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}
