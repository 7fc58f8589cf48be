import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isUuid } from '@pipeline/runtime';

/** What the store says about a stored invoice. */
export interface StoredInvoice {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * Invoice PDFs in a folder (INVOICE_STORE_DIR): `<order id>.pdf`, the name derived from the
 * order's uuid alone (anything else is refused, so no name can leave the folder). Written
 * atomically: a temporary file in the same folder, flushed to disk, then renamed over the name, so
 * a reader sees either nothing or the whole PDF. Once stored, an invoice is never rewritten.
 */
export class InvoiceStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  pathOf(orderId: string): string {
    if (!isUuid(orderId)) throw new Error(`invoice store: ${JSON.stringify(orderId)} is not an order id (a uuid)`);
    return join(this.dir, `${orderId.toLowerCase()}.pdf`);
  }

  /** The stored invoice's bytes, or undefined when none is stored. */
  async read(orderId: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(orderId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /**
   * Stores `bytes` unless an invoice is stored already; then the stored one stands, and its bytes
   * are returned. The name is taken with a hard link from the flushed temporary file, which fails
   * when the name exists: two writers can never both store.
   */
  async putIfAbsent(orderId: string, bytes: Buffer): Promise<StoredInvoice & { written: boolean; bytes: Buffer }> {
    const path = this.pathOf(orderId);
    const temporary = join(this.dir, `.${orderId}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    let written = true;
    try {
      await link(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      written = false;
    } finally {
      await rm(temporary, { force: true });
    }
    if (!written) {
      const stored = (await this.read(orderId)) ?? bytes;
      return { path, written, bytes: stored, ...describe(stored) };
    }
    // The folder's entry too, so the name survives a power cut.
    const folder = await open(this.dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
    return { path, written, bytes, ...describe(bytes) };
  }
}

function describe(bytes: Buffer): { sizeBytes: number; sha256: string } {
  return { sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
