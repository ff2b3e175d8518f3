import { createHmac, randomBytes } from 'node:crypto';
import { MANIFESTS_PREFIX } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { IdentifierKind, VisitorIdentifier } from './visitor-identifiers.ts';

/**
 * Erasure records, `manifests/erasures/<kind>-<hash>.json`: one per erased identifier, holding
 * only its salted hash (HMAC-SHA256 keyed with the lake's random salt), never the identifier.
 * The hash is in the key, so the write path learns every erased hash from one listing.
 * The salt (`manifests/erasures/salt.json`) is created once per lake, by the first erasure.
 */
export const ERASURES_PREFIX = `${MANIFESTS_PREFIX}erasures/`;
export const SALT_KEY = `${ERASURES_PREFIX}salt.json`;
const RECORD_KEY = /^(visitor-id|email)-([0-9a-f]{64})\.json$/;

export interface ErasureRun {
  at: string;
  /** Chats removed from current files by this run. */
  chats: number;
  /** Current files rewritten (or deleted when no chat was left in them). */
  files: string[];
  /** Noncurrent object versions deleted (S3 lakes; 0 on a folder). */
  versionsDeleted: number;
  /** False until every file and version is done: an interrupted erase is visible here. */
  complete: boolean;
}

export interface ErasureRecord {
  v: 1;
  kind: IdentifierKind;
  hash: string;
  runs: ErasureRun[];
}

export function erasureRecordKey(kind: IdentifierKind, hash: string): string {
  return `${ERASURES_PREFIX}${kind}-${hash}.json`;
}

export function identifierHash(salt: string, identifier: VisitorIdentifier): string {
  return createHmac('sha256', salt).update(`${identifier.kind}\n${identifier.value}`).digest('hex');
}

/** The lake's salt, created on first use; concurrent first erasures agree on one (conditional create). */
export async function ensureSalt(sink: LakeSink): Promise<string> {
  const existing = await readSalt(sink);
  if (existing) return existing;
  const created = JSON.stringify({ salt: randomBytes(32).toString('hex'), createdAt: new Date().toISOString() });
  await sink.putIfAbsent(SALT_KEY, Buffer.from(`${created}\n`), 'json');
  const salt = await readSalt(sink);
  if (!salt) throw new Error(`could not create ${SALT_KEY}`);
  return salt;
}

export async function readSalt(sink: LakeSink): Promise<string | undefined> {
  const body = await sink.get(SALT_KEY);
  if (!body) return undefined;
  const { salt } = JSON.parse(Buffer.from(body).toString('utf8')) as { salt?: unknown };
  if (typeof salt !== 'string' || salt.length < 32) throw new Error(`${SALT_KEY} holds no valid salt`);
  return salt;
}

export async function readErasureRecord(sink: LakeSink, key: string): Promise<ErasureRecord | undefined> {
  const body = await sink.get(key);
  return body ? (JSON.parse(Buffer.from(body).toString('utf8')) as ErasureRecord) : undefined;
}

export async function writeErasureRecord(sink: LakeSink, record: ErasureRecord): Promise<string> {
  const key = erasureRecordKey(record.kind, record.hash);
  await sink.put(key, Buffer.from(`${JSON.stringify(record, null, 2)}\n`), 'json');
  return key;
}

/** Every erased identifier's hash, with the salt that made them; none when nothing was ever erased. */
export interface ErasedHashes {
  salt: string;
  hashes: ReadonlySet<string>;
}

export async function loadErasedHashes(sink: LakeSink): Promise<ErasedHashes | undefined> {
  const hashes = new Set<string>();
  for (const key of await sink.list(ERASURES_PREFIX)) {
    const match = RECORD_KEY.exec(key.slice(ERASURES_PREFIX.length));
    if (match) hashes.add(match[2]!);
  }
  if (hashes.size === 0) return undefined;
  const salt = await readSalt(sink);
  if (!salt) throw new Error(`erasure records exist but ${SALT_KEY} is missing: erased chats cannot be recognised`);
  return { salt, hashes };
}
