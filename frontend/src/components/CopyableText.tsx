import { useRef, useState } from 'react';

/**
 * A secret or command shown once, in a read-only field, with a Copy button. The clipboard API
 * needs a secure context (HTTPS or localhost): elsewhere the text is selected instead, for
 * Ctrl+C, and the status line says so. The status is a live region, so a screen reader hears it.
 */
export function CopyableText(props: { label: string; text: string; multiline?: boolean }) {
  const { label, text, multiline = false } = props;
  const field = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [status, setStatus] = useState('');
  const copy = async () => {
    try {
      if (navigator.clipboard === undefined) throw new Error('no clipboard here');
      await navigator.clipboard.writeText(text);
      setStatus('Copied.');
    } catch {
      field.current?.focus();
      field.current?.select();
      setStatus('The browser refused the clipboard here: the text is selected, press Ctrl+C.');
    }
  };
  return (
    <div className="copyable">
      <label>
        {label}
        {multiline ? (
          <textarea
            ref={field}
            readOnly
            value={text}
            rows={Math.min(6, text.split('\n').length + 1)}
            spellCheck={false}
            onFocus={(event) => event.target.select()}
          />
        ) : (
          <input
            ref={field}
            readOnly
            value={text}
            spellCheck={false}
            onFocus={(event) => event.target.select()}
          />
        )}
      </label>
      <div className="actions">
        <button type="button" onClick={() => void copy()}>
          Copy {label.toLowerCase()}
        </button>
        <span role="status" className="muted small">
          {status}
        </span>
      </div>
    </div>
  );
}
