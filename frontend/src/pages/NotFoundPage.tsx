import { Link } from 'react-router';
import { usePageTitle } from './usePageTitle.js';

export function NotFoundPage() {
  usePageTitle('Not found');
  return (
    <>
      <h1>Not found</h1>
      <p>
        The dashboard has no page at this address. Go to the <Link to="/">overview</Link>.
      </p>
    </>
  );
}
