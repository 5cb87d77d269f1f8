import { timingSafeEqual } from 'node:crypto';

/** A demo user as the API returns it. */
export interface DemoUser {
  id: string;
  name: string;
}

interface UserRecord extends DemoUser {
  password: string;
  apiKey: string;
}

const records: readonly UserRecord[] = [
  { id: 'alice', name: 'Alice', password: 'alice-password', apiKey: 'alice-api-key' },
  { id: 'bob', name: 'Bob', password: 'bob-password', apiKey: 'bob-api-key' },
];

// Users deleted at run time, so that revalidation tests can remove an account.
const deleted = new Set<string>();

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function toUser(record: UserRecord): DemoUser {
  return { id: record.id, name: record.name };
}

/** Returns the user whose name and password match, or `undefined`. */
export function verifyPassword(username: unknown, password: unknown): DemoUser | undefined {
  if (typeof username !== 'string' || typeof password !== 'string') {
    return undefined;
  }
  const record = records.find((entry) => entry.id === username && !deleted.has(entry.id));
  return record !== undefined && sameSecret(password, record.password) ? toUser(record) : undefined;
}

/** Returns the user an API key belongs to, or `undefined`. */
export function findByApiKey(key: unknown): DemoUser | undefined {
  if (typeof key !== 'string' || key === '') {
    return undefined;
  }
  const record = records.find((entry) => sameSecret(key, entry.apiKey) && !deleted.has(entry.id));
  return record === undefined ? undefined : toUser(record);
}

/** Returns the user with this id, or `undefined` when it does not exist or was deleted. */
export function findById(id: unknown): DemoUser | undefined {
  const record = records.find((entry) => entry.id === id && !deleted.has(entry.id));
  return record === undefined ? undefined : toUser(record);
}

/** Marks a user as deleted (`true`) or restores it (`false`). */
export function setUserDeleted(id: string, isDeleted: boolean): void {
  if (isDeleted) {
    deleted.add(id);
  } else {
    deleted.delete(id);
  }
}

/**
 * Reads an API key from `X-Api-Key` or `Authorization: Bearer <key>`, the two places the demos
 * accept it.
 */
export function apiKeyFrom(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const header = headers['x-api-key'];
  if (typeof header === 'string' && header !== '') {
    return header;
  }
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) {
    return authorization.slice('Bearer '.length).trim();
  }
  return undefined;
}

/** The JSON body every demo sends with a 401. */
export const unauthorizedBody = { error: 'unauthorized', message: 'Log in, or send an API key.' };
