import { randomUUID } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A response body's bytes, gathered so that a file is never held in memory twice: into one
 * buffer of the declared Content-Length, or, when there is none (or the decoded body outgrows
 * it, as a gzip-encoded answer does), appended to a temporary file that is read back into one
 * buffer of the exact length at the end. Memory: the file once, plus one chunk; `dispose`
 * removes the temporary file.
 */
export class BodyBytes {
  private buffer: Buffer | undefined;
  private spill: { path: string; handle: FileHandle } | undefined;
  private written = 0;

  constructor(
    declared: number,
    private readonly spillDir = tmpdir(),
  ) {
    this.buffer = declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  }

  get length(): number {
    return this.written;
  }

  async append(chunk: Uint8Array): Promise<void> {
    if (this.buffer && this.written + chunk.length <= this.buffer.length) {
      this.buffer.set(chunk, this.written);
    } else {
      const handle = await this.spilled();
      await writeAt(handle, chunk, this.written);
    }
    this.written += chunk.length;
  }

  /** The bytes, in one buffer of exactly their length. */
  async bytes(): Promise<Buffer> {
    if (!this.spill) return this.buffer ? this.buffer.subarray(0, this.written) : Buffer.alloc(0);
    const bytes = Buffer.allocUnsafe(this.written);
    for (let offset = 0; offset < bytes.length; ) {
      const { bytesRead } = await this.spill.handle.read(bytes, offset, bytes.length - offset, offset);
      if (bytesRead === 0) throw new Error('the attachment read back is shorter than written');
      offset += bytesRead;
    }
    return bytes;
  }

  async dispose(): Promise<void> {
    const spill = this.spill;
    this.spill = undefined;
    this.buffer = undefined;
    if (!spill) return;
    await spill.handle.close().catch(() => undefined);
    await rm(spill.path, { force: true });
  }

  /** The temporary file, opened on first need with what the buffer held so far (the buffer is let go). */
  private async spilled(): Promise<FileHandle> {
    if (this.spill) return this.spill.handle;
    const path = join(this.spillDir, `livechat-archiver-attachment-${randomUUID()}.partial`);
    this.spill = { path, handle: await open(path, 'wx+', 0o600) };
    if (this.buffer && this.written > 0) await writeAt(this.spill.handle, this.buffer.subarray(0, this.written), 0);
    this.buffer = undefined;
    return this.spill.handle;
  }
}

async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, position + offset);
    offset += bytesWritten;
  }
}
