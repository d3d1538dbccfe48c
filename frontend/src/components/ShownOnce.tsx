import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * A secret shown once (a new token), in a framed region that takes the focus when it appears, so
 * a keyboard or screen-reader user lands on it. It lives in its page's state only: leaving or
 * reloading the page forgets it.
 */
export function ShownOnce(props: { title: string; children: ReactNode }) {
  const section = useRef<HTMLElement>(null);
  const titleId = useId();
  useEffect(() => section.current?.focus(), []);
  return (
    <section ref={section} tabIndex={-1} className="card shown-once" aria-labelledby={titleId}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </section>
  );
}
