import {
  NotificationChannelKind,
  type CreateNotificationChannelRequest,
  type NotificationChannel,
  type TestNotificationChannelResponse,
} from '@cronfleet/core/contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { callApi } from '../../api/apiCall.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { TimeText } from '../../components/TimeText.js';
import { durationText } from '../../format/durationText.js';
import { useSession } from '../../layout/RequireSession.js';
import { usePageTitle } from '../usePageTitle.js';
import { channelKindForms, newWebhookSecret, type ChannelField } from './channelKindForms.js';

/**
 * Where incidents are sent (docs/monitoring.md). Every member sees the channels (never a
 * secret); operators send a test message and see whether it was delivered or why not; admins
 * create channels of each kind the API has, with that kind's fields, and delete them.
 */
export function NotificationChannelsPage() {
  usePageTitle('Notification channels');
  const session = useSession();
  const channels = useQuery({
    queryKey: ['notification-channels'],
    queryFn: ({ signal }) => callApi('listNotificationChannels', {}, signal),
  });
  const canTest = session.permissions.includes('write');
  const canManage = session.permissions.includes('admin');
  return (
    <>
      <div className="page-head">
        <h1>Notification channels</h1>
        <p className="muted">
          A job&apos;s <code>monitoring.notify</code> names channels; default channels get the rest
        </p>
      </div>
      {canManage ? <CreateChannel /> : null}
      {channels.isError ? (
        <ErrorMessage error={channels.error} title="Could not load the notification channels" />
      ) : null}
      {channels.isPending ? <p className="loading">Loading the channels…</p> : null}
      {channels.data === undefined ? null : channels.data.items.length === 0 ? (
        <p className="empty">No notification channel: incidents notify nobody.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Notification channels">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Default</th>
                <th scope="col">Settings</th>
                <th scope="col">Secrets set</th>
                <th scope="col">Created</th>
                {canTest || canManage ? <th scope="col">Action</th> : null}
              </tr>
            </thead>
            <tbody>
              {channels.data.items.map((channel) => (
                <tr key={channel.id}>
                  <td>{channel.name}</td>
                  <td>{channel.kind}</td>
                  <td>{channel.isDefault ? 'yes' : 'no'}</td>
                  <td className="wrap small">
                    {Object.entries(channel.config).map(([key, value]) => (
                      <div key={key}>
                        {key}: {Array.isArray(value) ? value.join(', ') : String(value)}
                      </div>
                    ))}
                  </td>
                  <td className="small">{channel.secretFieldsSet.join(', ') || '—'}</td>
                  <td className="small">
                    <TimeText iso={channel.createdAt} />
                  </td>
                  {canTest || canManage ? (
                    <td>
                      <div className="actions">
                        {canTest ? <TestChannel channel={channel} /> : null}
                        {canManage ? <DeleteChannel channel={channel} /> : null}
                      </div>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function TestResult(props: { result: TestNotificationChannelResponse }) {
  const { result } = props;
  const attempt = result.delivery.attempts.at(-1);
  const facts = [
    attempt?.status === null || attempt?.status === undefined ? null : `status ${attempt.status}`,
    attempt === undefined ? null : durationText(attempt.durationMs),
  ]
    .filter((fact) => fact !== null)
    .join(', ');
  return result.outcome === 'delivered' ? (
    <span className="test-result" role="status">
      <span className="badge tone-good">delivered</span> {facts === '' ? '' : `(${facts})`}
    </span>
  ) : (
    <span className="test-result" role="status">
      <span className="badge tone-bad">failed</span> {result.reason ?? 'no reason given'}
      {facts === '' ? '' : ` (${facts})`}
      {result.retryable === true ? ' · looks temporary' : ''}
    </span>
  );
}

function TestChannel(props: { channel: NotificationChannel }) {
  const test = useMutation({
    mutationFn: () =>
      callApi('testNotificationChannel', { params: { channelId: props.channel.id } }),
  });
  return (
    <span>
      <button type="button" disabled={test.isPending} onClick={() => test.mutate()}>
        {test.isPending ? 'Sending…' : 'Send test'}
        <span className="visually-hidden"> to {props.channel.name}</span>
      </button>
      {test.data === undefined ? null : <TestResult result={test.data} />}
      {test.isError ? <ErrorMessage error={test.error} title="Could not send the test" /> : null}
    </span>
  );
}

function DeleteChannel(props: { channel: NotificationChannel }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () =>
      callApi('deleteNotificationChannel', { params: { channelId: props.channel.id } }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['notification-channels'] }),
  });
  return (
    <span>
      <ConfirmButton
        label="Delete"
        subject={props.channel.name}
        question="Its deliveries go with it; jobs that name it get a warning."
        confirmLabel={`Delete ${props.channel.name}`}
        pending={remove.isPending}
        onConfirm={() => remove.mutate()}
      />
      {remove.isError ? <ErrorMessage error={remove.error} title="Could not delete" /> : null}
    </span>
  );
}

type Values = Record<string, string>;

function initialValues(fields: readonly ChannelField[]): Values {
  return Object.fromEntries(
    fields.map((field) => [
      field.key,
      field.generate === true ? newWebhookSecret() : (field.defaultValue ?? ''),
    ]),
  );
}

/** The form's text as the kind's configuration: numbers and lists typed, empty optionals left out. */
function configOf(fields: readonly ChannelField[], values: Values): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of fields) {
    const text = (values[field.key] ?? '').trim();
    if (text === '') continue;
    if (field.type === 'number') config[field.key] = Number(text);
    else if (field.type === 'list')
      config[field.key] = text.split(/[\s,]+/).filter((part) => part !== '');
    else config[field.key] = text;
  }
  return config;
}

function CreateChannel() {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<NotificationChannelKind>('webhook');
  const [name, setName] = useState('');
  const [isDefault, setIsDefault] = useState(false);
  const form = channelKindForms[kind];
  const [values, setValues] = useState<Values>(() => initialValues(form.fields));
  const [created, setCreated] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: CreateNotificationChannelRequest) =>
      callApi('createNotificationChannel', { body }),
    onSuccess: (channel) => {
      setCreated(channel.name);
      setName('');
      setIsDefault(false);
      setValues(initialValues(form.fields));
      void queryClient.invalidateQueries({ queryKey: ['notification-channels'] });
    },
  });
  const chooseKind = (next: NotificationChannelKind) => {
    setKind(next);
    setValues(initialValues(channelKindForms[next].fields));
    create.reset();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    create.mutate({ name: name.trim(), kind, isDefault, config: configOf(form.fields, values) });
  };
  return (
    <details className="card">
      <summary>New notification channel</summary>
      <form className="stack" aria-label="New notification channel" onSubmit={submit}>
        <label>
          Kind
          <select
            value={kind}
            onChange={(event) => chooseKind(event.target.value as NotificationChannelKind)}
          >
            {NotificationChannelKind.options.map((option) => (
              <option key={option} value={option}>
                {channelKindForms[option].label}
              </option>
            ))}
          </select>
        </label>
        <p className="small muted">{form.about}</p>
        <label>
          <span>
            Name (what <code>monitoring.notify</code> says)
          </span>
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="ops-webhook"
            required
          />
        </label>
        {form.fields.map((field) => (
          <label key={field.key}>
            {field.label}
            {field.type === 'select' ? (
              <select
                value={values[field.key] ?? ''}
                onChange={(event) => setValues({ ...values, [field.key]: event.target.value })}
              >
                {field.options?.map((option) => (
                  <option key={option} value={option}>
                    {option}
                  </option>
                ))}
              </select>
            ) : (
              <input
                type={field.type === 'number' ? 'number' : field.type === 'url' ? 'url' : 'text'}
                value={values[field.key] ?? ''}
                required={field.required === true}
                autoComplete="off"
                spellCheck={false}
                placeholder={field.placeholder}
                onChange={(event) => setValues({ ...values, [field.key]: event.target.value })}
              />
            )}
            {field.secret === true ? (
              <span className="small muted">
                Secret: stored encrypted and never shown again
                {field.generate === true ? '; copy it into your receiver now' : ''}.
              </span>
            ) : null}
          </label>
        ))}
        {form.fields.some((field) => field.generate === true) ? (
          <div>
            <button
              type="button"
              onClick={() =>
                setValues({
                  ...values,
                  ...Object.fromEntries(
                    form.fields
                      .filter((field) => field.generate === true)
                      .map((field) => [field.key, newWebhookSecret()]),
                  ),
                })
              }
            >
              Generate another signing secret
            </button>
          </div>
        ) : null}
        <label className="checkbox">
          <input
            type="checkbox"
            checked={isDefault}
            onChange={(event) => setIsDefault(event.target.checked)}
          />
          <span>
            Default: gets the incidents of jobs whose <code>monitoring.notify</code> names no
            channel
          </span>
        </label>
        {create.isError ? (
          <ErrorMessage error={create.error} title="Could not create the channel" />
        ) : null}
        {created === null ? null : (
          <p className="notice" role="status">
            Channel {created} created. Send it a test message from the list.
          </p>
        )}
        <div>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create channel
          </button>
        </div>
      </form>
    </details>
  );
}
