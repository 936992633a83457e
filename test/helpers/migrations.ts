/**
 * Temporary migration folders for tests: write files, edit them, remove them.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One migration to write: `up`/`down` SQL and section options. */
export interface MigrationSpec {
  version: string;
  name: string;
  up: string;
  down?: string;
  upNoTransaction?: boolean;
  downNoTransaction?: boolean;
}

/** The text of a migration file in drydock's format. */
export function migrationText(spec: MigrationSpec): string {
  const up = `-- migrate:up${spec.upNoTransaction ? ' transaction:false' : ''}\n${spec.up}\n`;
  const down = spec.down === undefined ? '' : `\n-- migrate:down${spec.downNoTransaction ? ' transaction:false' : ''}\n${spec.down}\n`;
  return up + down;
}

/** A temporary migrations folder, removed by `cleanup`. */
export interface MigrationDir {
  dir: string;
  /** The folder's parent, a good cwd for CLI runs (drydock.json and db/ go there). */
  root: string;
  write(spec: MigrationSpec): string;
  writeRaw(fileName: string, content: string): string;
  remove(fileName: string): void;
  cleanup(): void;
}

/** Create a migrations folder holding `specs`. */
export function makeMigrationDir(specs: MigrationSpec[] = []): MigrationDir {
  const root = mkdtempSync(join(tmpdir(), 'drydock-migrations-'));
  const dir = join(root, 'migrations');
  const api: MigrationDir = {
    dir,
    root,
    write(spec) {
      return api.writeRaw(`${spec.version}_${spec.name}.sql`, migrationText(spec));
    },
    writeRaw(fileName, content) {
      const path = join(dir, fileName);
      writeFileSync(path, content);
      return path;
    },
    remove(fileName) {
      unlinkSync(join(dir, fileName));
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  mkdirSync(dir, { recursive: true });
  for (const spec of specs) api.write(spec);
  return api;
}
