import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { type ErasedHashes, identifierHash, loadErasedHashes } from './erasure-records.ts';
import { visitorIdentifiers } from './visitor-identifiers.ts';

/** Recognises chats of erased visitors by the salted hashes of their identifiers. */
export class ErasedVisitors {
  static readonly none = new ErasedVisitors(undefined);

  /** The lake's erasure records as they are now (one listing; the salt only if any record exists). */
  static async load(sink: LakeSink): Promise<ErasedVisitors> {
    const erased = await loadErasedHashes(sink);
    return erased ? new ErasedVisitors(erased) : ErasedVisitors.none;
  }

  private constructor(private readonly erased: ErasedHashes | undefined) {}

  get size(): number {
    return this.erased?.hashes.size ?? 0;
  }

  /** The salted hashes of the erased identifiers. */
  hashes(): string[] {
    return [...(this.erased?.hashes ?? [])].sort();
  }

  isErased(record: unknown): boolean {
    const erased = this.erased;
    if (!erased) return false;
    return visitorIdentifiers(record).some((identifier) => erased.hashes.has(identifierHash(erased.salt, identifier)));
  }
}
