import { useEffect } from 'react';

/** The tab's title names the page, so screen-reader users hear where a navigation landed. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Cronfleet`;
  }, [title]);
}
