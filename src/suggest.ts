/**
 * "Did you mean …?": the closest of some known names to one that matched none of them.
 */

/** Edit distance (Levenshtein): insertions, deletions and substitutions that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/**
 * The known name closest to `word` when it is close enough to be a slip (at most a third of the word's
 * length, and at least 3, edits away; case differences count as one edit each); undefined otherwise.
 * Ties go to the first name given.
 */
export function closestName(word: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(word, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(3, Math.floor(word.length / 3)) ? best.name : undefined;
}
