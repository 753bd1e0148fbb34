/**
 * When an element change folds: the rule both ways of making one apply (server/git/set-elements.ts
 * whole path, server/git/element-tips.ts fast path), so they write the same files. Pure.
 */
import { changeFileNumber, MAX_CHANGE_FILES } from '../../shared/ruleset/element-log.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/** What is stored of a ruleset: its change files (name, size in bytes), its elements directory's entries, its base's size. */
export interface StoredLayout {
  changes: ReadonlyArray<{ file: string; size: number }>;
  /** Entries of `rulesets/NAME.elements/` (change files and anything else). */
  elementsEntries: number;
  baseSize: number;
}

/**
 * Whether one more change file of `bytes` folds every change file into the base (server/defaults.ts
 * elementLog: more than foldMaxFiles files, or their bytes past an eighth of the base's; numbering
 * past MAX_CHANGE_FILES; a stray entry in the elements directory), how many files that folds
 * (this one included), and the number the new file takes when it does not.
 */
export function foldDue(layout: StoredLayout, bytes: number): { fold: boolean; files: number; next: number } {
  const { foldMaxFiles, foldBaseDivisor } = SERVER_DEFAULTS.elementLog;
  const files = layout.changes.length + 1;
  const total = layout.changes.reduce((n, c) => n + c.size, 0) + bytes;
  const next = Math.max(0, ...layout.changes.map((c) => changeFileNumber(c.file) ?? 0)) + 1;
  const strays = layout.elementsEntries !== layout.changes.length;
  return { fold: files > foldMaxFiles || total * foldBaseDivisor > layout.baseSize || next > MAX_CHANGE_FILES || strays, files, next };
}
