// "Did you mean" for the command line: the known word a mistyped one was most likely meant as.
// Pure; the CLI decides what the words are (commands, a command's options) and how to say it.

/** Edits that turn `a` into `b`: insert, delete or change a character, or swap two neighbours. */
export function editDistance(a: string, b: string): number {
  // Optimal string alignment: Levenshtein plus a transposition, so 'sned' is one edit from 'send'.
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const change = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + change);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** Leading dashes are the same in every option name: they neither count as closeness nor as length. */
const bare = (word: string) => word.replace(/^-+/, '').toLowerCase();

/**
 * The candidate `input` was most likely meant as, or undefined if none is close enough: the
 * nearest within a third of its own length in edits (at least one edit, so 'if' finds 'id'),
 * else the one candidate that `input` begins (three characters or more: 'disc' is 'discover').
 * Ties go to the earlier candidate.
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const typed = bare(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const word = bare(candidate);
    const distance = editDistance(typed, word);
    if (distance <= Math.max(1, Math.floor(word.length / 3)) && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined || typed.length < 3) return best;
  const begun = candidates.filter((candidate) => bare(candidate).startsWith(typed));
  return begun.length === 1 ? begun[0] : undefined;
}
