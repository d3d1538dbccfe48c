import {
  MIN_PASSWORD_LENGTH,
  Role,
  type AddUserRequest,
  type AddUserResponse,
  type OrganizationUser,
} from '@cronfleet/core/contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { callApi } from '../../api/apiCall.js';
import { meQueryKey } from '../../api/queryClient.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { TimeText } from '../../components/TimeText.js';
import { useSession } from '../../layout/RequireSession.js';
import { usePageTitle } from '../usePageTitle.js';

/**
 * The members of the organization and their roles (admins). Adding an e-mail address without an
 * account creates it with the password given (tell the person, who signs in with it); an
 * address that has an account elsewhere joins as it is, with its own password. A role changes
 * when applied (its Change button); the API refuses to demote or remove the last admin, and says so.
 */
const roleMeaning: Record<Role, string> = {
  viewer: 'reads everything',
  operator: 'also runs jobs, manages agents, incidents and silences',
  admin: 'also manages users, channels and the audit log',
};

export function UsersPage() {
  usePageTitle('Users and roles');
  const users = useQuery({
    queryKey: ['users'],
    queryFn: ({ signal }) => callApi('listUsers', {}, signal),
  });
  return (
    <>
      <div className="page-head">
        <h1>Users and roles</h1>
        <p className="muted">
          {Role.options.map((role) => `${role}: ${roleMeaning[role]}`).join(' · ')}
        </p>
      </div>
      <AddUser />
      {users.isError ? <ErrorMessage error={users.error} title="Could not load the users" /> : null}
      {users.isPending ? <p className="loading">Loading the users…</p> : null}
      {users.data === undefined ? null : (
        <div className="table-scroll">
          <table aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((user) => (
                <UserRow key={user.id} user={user} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function UserRow(props: { user: OrganizationUser }) {
  const { user } = props;
  const session = useSession();
  const queryClient = useQueryClient();
  const isMe = user.id === session.user.id;
  const [role, setRole] = useState<Role>(user.role);
  const changeRole = useMutation({
    mutationFn: (role: Role) =>
      callApi('changeUserRole', { params: { userId: user.id }, body: { role } }),
    onSuccess: (changed) => {
      setRole(changed.role);
      void queryClient.invalidateQueries({ queryKey: ['users'] });
      // Demoting oneself changes what this dashboard may show.
      if (isMe) void queryClient.invalidateQueries({ queryKey: meQueryKey });
    },
  });
  const remove = useMutation({
    mutationFn: () => callApi('removeUser', { params: { userId: user.id } }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['users'] }),
  });
  const who = user.name === '' ? user.email : user.name;
  return (
    <tr>
      <td>
        {user.name === '' ? <span className="muted">none</span> : user.name}
        {isMe ? <span className="muted"> (you)</span> : null}
      </td>
      <td>{user.email}</td>
      <td>
        {/* A button applies the choice: arrow keys on a closed menu change its value at once. */}
        <form
          className="actions"
          onSubmit={(event) => {
            event.preventDefault();
            changeRole.mutate(role);
          }}
        >
          <select
            aria-label={`Role of ${user.email}`}
            value={role}
            disabled={changeRole.isPending}
            onChange={(event) => setRole(event.target.value as Role)}
          >
            {Role.options.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
          {role === user.role ? null : (
            <>
              <button type="submit" className="primary" disabled={changeRole.isPending}>
                Change
                <span className="visually-hidden"> the role of {user.email}</span>
              </button>
              <button type="button" onClick={() => setRole(user.role)}>
                Cancel
              </button>
            </>
          )}
        </form>
        {changeRole.isError ? (
          <ErrorMessage error={changeRole.error} title="Could not change the role" />
        ) : null}
      </td>
      <td className="small">
        <TimeText iso={user.joinedAt} />
      </td>
      <td>
        {isMe ? null : (
          <ConfirmButton
            label="Remove"
            subject={user.email}
            question={`${who} loses access to ${session.organization.name}; their sessions and API tokens here end.`}
            confirmLabel={`Remove ${user.email}`}
            pending={remove.isPending}
            onConfirm={() => remove.mutate()}
          />
        )}
        {remove.isError ? <ErrorMessage error={remove.error} title="Could not remove" /> : null}
      </td>
    </tr>
  );
}

function AddUser() {
  const queryClient = useQueryClient();
  const empty = { email: '', name: '', role: 'viewer' as Role, password: '' };
  const [form, setForm] = useState(empty);
  const [added, setAdded] = useState<AddUserResponse | null>(null);
  const add = useMutation({
    mutationFn: (body: AddUserRequest) => callApi('addUser', { body }),
    onSuccess: (user) => {
      setAdded(user);
      setForm(empty);
      void queryClient.invalidateQueries({ queryKey: ['users'] });
    },
  });
  const field = (key: 'email' | 'name' | 'password') => ({
    value: form[key],
    onChange: (event: { target: { value: string } }) =>
      setForm({ ...form, [key]: event.target.value }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setAdded(null);
    add.mutate({
      email: form.email,
      role: form.role,
      ...(form.name.trim() === '' ? {} : { name: form.name.trim() }),
      ...(form.password === '' ? {} : { password: form.password }),
    });
  };
  return (
    <details className="card">
      <summary>Add a user</summary>
      <form className="stack" aria-label="Add a user" onSubmit={submit}>
        <label>
          E-mail
          <input type="email" autoComplete="off" required {...field('email')} />
        </label>
        <label>
          Name (for a new account)
          <input autoComplete="off" {...field('name')} />
        </label>
        <label>
          Role
          <select
            value={form.role}
            onChange={(event) => setForm({ ...form, role: event.target.value as Role })}
          >
            {Role.options.map((role) => (
              <option key={role} value={role}>
                {role}: {roleMeaning[role]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Password for a new account (at least {MIN_PASSWORD_LENGTH} characters; leave empty for
          someone who already has an account)
          <input type="password" autoComplete="new-password" {...field('password')} />
        </label>
        {add.isError ? <ErrorMessage error={add.error} title="Could not add the user" /> : null}
        {added === null ? null : (
          <p className="notice" role="status">
            {added.email} {added.accountCreated ? 'was created and' : 'already had an account and'}{' '}
            joined as {added.role}.
            {added.accountCreated
              ? ' Give them the password through a safe channel; they sign in with it.'
              : ' They sign in with their own password.'}
          </p>
        )}
        <div>
          <button type="submit" className="primary" disabled={add.isPending}>
            Add user
          </button>
        </div>
      </form>
    </details>
  );
}
