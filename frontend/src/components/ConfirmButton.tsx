import { useEffect, useRef, useState, type ReactNode } from 'react';

/**
 * A destructive action behind a second click: the first button ("Revoke…") turns into the
 * question, the action and Cancel. Focus moves to the action so the keyboard follows, and back
 * to the first button on Cancel.
 */
export function ConfirmButton(props: {
  /** The first button's verb, e.g. "Revoke"; it shows "Revoke…". */
  label: string;
  /**
   * What it acts on, e.g. "ci-deploy": said to a screen reader ("Revoke ci-deploy…"), not shown,
   * since the table row already shows it.
   */
  subject: string;
  /** The question, e.g. "Revoke ci-deploy? Calls with it fail from now on." */
  question: ReactNode;
  /** The confirming button, e.g. "Revoke ci-deploy". */
  confirmLabel: string;
  pending: boolean;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const firstRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) firstRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button ref={firstRef} type="button" className="danger" onClick={() => setAsking(true)}>
        {props.label}
        <span className="visually-hidden"> {props.subject}</span>…
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label="Confirm">
      <span className="small">{props.question}</span>{' '}
      <span className="actions">
        <button
          ref={confirmRef}
          type="button"
          className="danger"
          disabled={props.pending}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
        <button type="button" onClick={() => setAsking(false)}>
          Cancel
        </button>
      </span>
    </span>
  );
}
