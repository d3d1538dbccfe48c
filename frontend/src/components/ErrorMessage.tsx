import { DashboardApiError } from '../api/apiCall.js';

/** An error as the API gave it: its message verbatim, and each detail (e.g. a field's problem). */
export function ErrorMessage(props: { error: unknown; title?: string }) {
  const { error, title = 'The request failed' } = props;
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : String(error);
  const details = error instanceof DashboardApiError ? error.details : [];
  const status =
    error instanceof DashboardApiError && error.status > 0
      ? ` (${error.status} ${error.code})`
      : '';
  return (
    <div className="error" role="alert">
      <strong>
        {title}
        {status}:
      </strong>{' '}
      {message}
      {details.length > 0 ? (
        <ul>
          {details.map((detail) => (
            <li key={detail}>{detail}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
